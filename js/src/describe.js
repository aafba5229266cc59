// Short texts about a node of the view graph, shared by the tooltip, the details panel and
// search. A node index entry (built by jaxviz/display/widget.py for each drawn node;
// graph.js resolves its source) looks like
//   {kind, op, label, category, shape?, group?, source?: [file, line, function, code, place]
//    (place: "Cell In[2], line 4" or "model.py:12"), params?: {name: text}, inputs?,
//    outputs?: [[drawn id, edge label]], size?: ops inside,
//    links?: [[id, label]] in the other view, more_links?: how many more,
//    removed?: true for code XLA removed,
//    findings?: [indices into the findings]}

export const REMOVED_TEXT = "removed by XLA: no output needs it";

/** "Cell In[2], line 3 in fn", "model.py:3 in fn", or "" when the node has no source line. */
export function sourceText(node) {
  if (!node.source) return "";
  const [file, line, fn, , place] = node.source;
  return `${place ?? `${basename(file)}:${line}`} in ${fn}`;
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
