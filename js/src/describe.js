// Short texts about a node of the view graph, shared by the tooltip, the details panel and
// search. A node index entry (built by jaxviz/display/widget.py for each drawn node;
// graph.js resolves its source) looks like
//   {kind, op, label, category, shape?, group?, source?: [file, line, function, code, place]
//    (place: "Cell In[2], line 4" or "model.py:12"), params?: {name: text}, inputs?,
//    outputs?: [[drawn id, edge label]], size?: ops inside,
//    links?: [[id, label]] in the other view, more_links?: how many more,
//    removed?: true for code XLA removed,
//    findings?: [indices into the findings],
//    seconds?: per call, from a profile (a group: what it holds), flops?, traffic?: the
//    ops' estimated FLOPs and bytes read and written,
//    bytes?: what it made that is live at the memory peak}

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

/** What was measured of a node, a line each (the hover card and the details show them):
 *  its time from a profile (``perCall``: seconds per call), its bytes at the memory peak. */
export function measuredTexts(node, perCall) {
  return [timeText(node, perCall), memoryText(node)].filter(Boolean);
}

/** "31% of the run · 0.42 ms per call · 12.3 GFLOP/s · 3.1 GB/s", from a profile. */
function timeText(node, perCall) {
  if (!node.seconds || !perCall) return "";
  const rates = [[node.flops, "FLOP/s"], [node.traffic, "B/s"]]
    .filter(([amount]) => amount).map(([amount, unit]) => ` · ${rate(amount / node.seconds)}${unit}`);
  return `${percent(node.seconds / perCall)} of the run · ${seconds(node.seconds)} per call${rates.join("")}`;
}

/** "12.3 G" of "12.3 GFLOP/s", as jaxviz.formatting.format_rate writes it. */
function rate(value) {
  for (const [suffix, scale] of [["T", 1e12], ["G", 1e9], ["M", 1e6], ["k", 1e3]]) {
    if (value >= scale) return `${Number((value / scale).toPrecision(3))} ${suffix}`;
  }
  return `${Number(value.toPrecision(3))} `;
}

/** "31%" (or "<1%"). */
export function percent(fraction) {
  return fraction > 0 && fraction < 0.005 ? "<1%" : `${Math.round(fraction * 100)}%`;
}

/** "7.61 µs", as jaxviz.timing.format_time writes it. */
export function seconds(value) {
  for (const [unit, scale] of [["s", 1], ["ms", 1e3], ["µs", 1e6]]) {
    if (value * scale >= 1) return `${Number((value * scale).toPrecision(3))} ${unit}`;
  }
  return `${Number((value * 1e9).toPrecision(3))} ns`;
}

/** "2.1 MiB live at the memory peak". */
function memoryText(node) {
  return node.bytes ? `${bytes(node.bytes)} live at the memory peak` : "";
}

/** "256 KiB", as jaxviz.formatting.format_bytes writes it. */
export function bytes(value) {
  for (const [unit, scale] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]]) {
    if (value >= scale) return `${Number((value / scale).toPrecision(3))} ${unit}`;
  }
  return `${value} B`;
}
