// The panels around the graph: the header line, findings, timing and program texts.
import { h } from "./dom.js";
import { bytes, percent, seconds } from "./describe.js";
import { Tabs } from "./tabs.js";

/** Function, device, stage times, cost, stage errors, and what printed while tracing. */
export function headerView(header) {
  const errors = Object.entries(header.errors ?? {});
  return h(
    "div",
    { class: "jv-header" },
    h("div", {}, h("b", { class: "jv-fn" }, header.fn_name), h("span", { class: "jv-dim" }, ` on ${header.device} · ${header.stages}`)),
    (header.cost || header.memory) &&
      h("div", { class: "jv-dim" }, [header.cost, header.memory].filter(Boolean).join(" · ")),
    errors.map(([stage, message]) => h("div", { class: "jv-error-line" }, `${stage} failed: ${message}`)),
    header.stdout &&
      h("details", { class: "jv-stdout" }, h("summary", {}, "printed while tracing"), h("pre", {}, header.stdout)),
    header.static?.length > 0 &&
      h(
        "details",
        { class: "jv-stdout" },
        h("summary", {}, `static inputs (not traced, fixed at trace time): ${header.static.length + (header.more_static ?? 0)}`),
        h("pre", {}, header.static.map(([path, value]) => `${path} = ${value}`).join("\n") + (header.more_static ? `\n… ${header.more_static} more` : "")),
      ),
  );
}

/** One card per finding: severity, line, what happened, the fix; ``show(index)`` goes to its
 * first node in the graph. */
export function findingsView(findings, show) {
  if (!findings.length) return h("p", { class: "jv-placeholder" }, "No findings: jaxviz saw nothing to warn about.");
  return h(
    "div",
    { class: "jv-findings" },
    findings.map((f, index) =>
      h(
        "div",
        { class: `jv-finding jv-sev-${f.severity}` },
        h(
          "div",
          {},
          h("b", {}, f.severity),
          f.where && h("span", { class: "jv-dim", title: f.filename ?? "" }, ` · ${f.where}`),
          h("span", { class: "jv-dim" }, ` · ${f.kind}`),
        ),
        h("div", {}, f.message),
        f.hint && h("div", {}, h("b", {}, "fix: "), f.hint),
        f.view && h("button", { class: "jv-link", onclick: () => show(index) }, "show in graph"),
      ),
    ),
  );
}

const STAGE_COLOURS = { trace: "#93c5fd", lower: "#c4b5fd", compile: "#fca5a5", execute: "#86efac", other: "#d1d5db" };

/**
 * Timing (``Trace.timing.to_dict()``): the headline, the first call split into its stages,
 * and the full table as Python writes it. ``measure``: run the timing now (null: no kernel).
 * ``progress``: timing in the background ("timing eager vs jit…"), or why it failed there.
 */
export function timingView(timing, measure, progress) {
  if (!timing) {
    return h(
      "div",
      { class: "jv-placeholder" },
      h("p", {}, progress ?? "Not measured: the cell ran with --no-time, or the program does not compile. Timing runs the function many times."),
      measure && !progress?.endsWith("…") && h("button", { onclick: measure }, "measure eager vs jit now"),
    );
  }
  const first = timing.first_call;
  const stages = { ...timing.first_call_breakdown };
  stages.other = Math.max(0, first.best - Object.values(stages).reduce((a, b) => a + b, 0));
  let headline = `eager: ${timing.eager_note || "not measured"}`;
  if (timing.speedup >= 1) {
    headline = `jit is ${ratio(timing.speedup)} faster than eager per call`;
    if (timing.break_even_calls) headline += `, and pays for its first call after ${timing.break_even_calls.toLocaleString("en")} calls`;
  } else if (timing.speedup) {
    headline = `jit is ${ratio(1 / timing.speedup)} slower than eager per call`;
  }
  return h(
    "div",
    { class: "jv-timing" },
    h("p", { class: "jv-headline" }, headline),
    h("div", { class: "jv-dim" }, `first call: ${seconds(first.best)}`),
    h(
      "div",
      { class: "jv-bar", role: "img", "aria-label": "first call by stage" },
      Object.entries(stages).map(([stage, time]) =>
        h("span", { style: `flex-grow:${time};background:${STAGE_COLOURS[stage]}`, title: `${stage} ${seconds(time)}` }),
      ),
    ),
    h(
      "div",
      { class: "jv-bar-keys" },
      Object.entries(stages).map(([stage, time]) =>
        h("span", { class: "jv-key" }, h("i", { style: `background:${STAGE_COLOURS[stage]}` }), `${stage} ${seconds(time)}`),
      ),
    ),
    timing.warnings.map((warning) => h("div", { class: "jv-warn-line" }, warning)),
    h("pre", {}, timing.text),
  );
}

/**
 * The per-op profile (``Trace.profiled.to_dict()``): what the figures cover, the hottest ops
 * (each with "show in graph": ``show(op)``), the hottest lines. ``run``: profile now (null:
 * no kernel).
 */
export function profileView(profile, run, show) {
  const again = run && h("button", { onclick: run }, profile ? "profile again" : "profile the ops");
  if (!profile) {
    return placeholder("jv-profile", "Ops not profiled: profiling runs the function under JAX's profiler (%%jaxtrace -p, or the button) and puts each op's time on the graphs.", again);
  }
  return h(
    "div",
    { class: "jv-profile" },
    h("h4", {}, `where the time goes · ${profile.calls} calls on ${profile.device}`),
    h("p", {}, profile.sentence),
    profile.warnings.map((warning) => h("div", { class: "jv-warn-line" }, warning)),
    profile.measured && table("jv-top-ops", ["share", "per call", "op", "line", ""], profile.ops.map((op) => [
      percent(op.fraction), seconds(op.seconds), h("span", { class: "jv-mono" }, `${op.name} · ${op.opcode}`),
      place(op.source), op.hlo_node && showButton(() => show(op)),
    ])),
    profile.measured && table("jv-top-lines", ["share", "per call", "line", "code"], profile.lines.map((line) => [
      percent(line.fraction), seconds(line.seconds), line.source ? line.source.place : "no source line",
      h("span", { class: "jv-mono" }, line.source?.code ?? ""),
    ])),
    again,
  );
}

/**
 * What is live at the memory peak (``Trace.memory_at_peak.to_dict()``): the sentence (checked
 * against XLA's memory analysis) and the biggest buffers, each with "show in graph"
 * (``show(buffer)``). ``run``: find them now (null: no kernel).
 */
export function memoryView(memory, run, show) {
  const again = run && h("button", { onclick: run }, memory ? "look again" : "find what is live at the peak");
  if (!memory) {
    return placeholder("jv-memory", "Memory at the peak not looked into: XLA's buffer assignment says which buffers are live there (%%jaxtrace -p, or the button; it compiles the program again).", again);
  }
  return h(
    "div",
    { class: "jv-memory" },
    h("h4", {}, "memory at the peak"),
    h("p", {}, memory.sentence),
    memory.measured && table("jv-peak-buffers", ["size", "kind", "made by", "line", ""], memory.buffers.map((buffer) => [
      bytes(buffer.bytes), buffer.kind, h("span", { class: "jv-mono" }, buffer.name), place(buffer.source),
      buffer.hlo_node && showButton(() => show(buffer)),
    ])),
    memory.more > 0 && h("p", { class: "jv-dim" }, `… and ${memory.more} smaller buffers`),
    again,
  );
}

function placeholder(cls, text, button) {
  return h("div", { class: `${cls} jv-placeholder` }, h("p", {}, text), button);
}

/** A table: a header row of ``titles``, then one row per list of cells. */
function table(cls, titles, rows) {
  return h(
    "table",
    { class: cls },
    h("tr", {}, titles.map((title) => h("th", { scope: "col" }, title))),
    rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell)))),
  );
}

function place(source) {
  return source && h("span", { title: source.code }, source.place);
}

function showButton(onclick) {
  return h("button", { class: "jv-link", onclick }, "show in graph");
}

function ratio(value) {
  return value >= 100 ? `${Math.round(value).toLocaleString("en")}×` : `${Number(value.toPrecision(3))}×`;
}

const TEXTS = [
  ["jaxpr", "jaxpr", "trace"],
  ["stablehlo", "StableHLO", "lower"],
  ["hlo", "HLO (compiled)", "compile"],
];

/** The program texts, one sub-tab each, with a copy button. */
export function textsView(texts, errors) {
  const items = TEXTS.map(([key, label, stage]) => {
    const body = texts[key];
    let panel;
    if (body) {
      const copy = h("button", { class: "jv-copy", onclick: () => copyText(body, copy) }, "copy");
      panel = h("div", { class: "jv-text" }, copy, h("pre", {}, body));
    } else {
      const why = errors?.[stage] ? `the ${stage} stage failed: ${errors[stage]}` : `no ${stage} stage ran`;
      panel = h("p", { class: "jv-placeholder" }, `No ${label} text: ${why}.`);
    }
    return { key, label, panel };
  });
  const tabs = new Tabs(items, () => {});
  tabs.select("jaxpr");
  return h("div", { class: "jv-texts" }, tabs.el, items.map((item) => item.panel));
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (an insecure page): the old way, through a selected textarea.
    const area = h("textarea", { style: "position:fixed;opacity:0" });
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  button.textContent = "copied";
  setTimeout(() => (button.textContent = "copy"), 1500);
}
