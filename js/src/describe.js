// Short texts about a node of the view graph, shared by the tooltip, the details panel and
// search. A node index entry (built by jaxviz/display/widget.py; graph.js resolves its
// source) looks like
//   {kind, op, label, category, shape?, group?, source?: [file, line, function, code],
//    params?: {name: text}, inputs?: [[producer id, shape]], size?: ops inside,
//    links?: [[id, label]] in the other view, removed?: true for code XLA removed}

export const REMOVED_TEXT = "removed by XLA: no output needs it";

/** "cell.py:3 in fn", or "" when the node has no source line. */
export function sourceText(node) {
  if (!node.source) return "";
  const [file, line, fn] = node.source;
  return `${basename(file)}:${line} in ${fn}`;
}

export function basename(path) {
  return String(path).split(/[\\/]/).pop();
}

/** "f32[4] · f32[4,2] → f32[2]": operand shapes, then what it makes. */
export function shapesText(node) {
  const ins = (node.inputs ?? []).map(([, shape]) => shape).filter(Boolean);
  const out = node.shape ?? "";
  if (!ins.length) return out;
  return `${ins.join(" · ")} → ${out || "?"}`;
}

/** "add", "input", "scan group · 12 ops inside". */
export function kindText(node) {
  if (node.kind === "group") {
    const size = node.size ? ` · ${node.size} op${node.size === 1 ? "" : "s"} inside` : "";
    return `${node.op} group${size}`;
  }
  return node.kind === "op" ? node.op : node.kind;
}

/** Consumers of each node: the inverse of the ``inputs`` lists. */
export function consumers(nodes) {
  const out = new Map();
  for (const [id, node] of Object.entries(nodes)) {
    for (const [src, shape] of node.inputs ?? []) {
      if (!out.has(src)) out.set(src, []);
      out.get(src).push([id, shape]);
    }
  }
  return out;
}

/** Depth of a node: 0 at the top level, 1 inside a top-level group, ... */
export function depth(nodes, id) {
  let d = 0;
  for (let g = nodes[id]?.group; g; g = nodes[g]?.group) d += 1;
  return d;
}
