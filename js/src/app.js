// One output for one trace: header, then tabs (jaxpr graph · HLO graph · findings · timing ·
// text). ``model`` is an anywidget model, or a stand-in with the same get/on/off (and no
// send) on static pages, where nothing can be re-laid out.
import css from "./style.css";
import { h, fill } from "./dom.js";
import { Tabs } from "./tabs.js";
import { Kernel, NO_KERNEL } from "./kernel.js";
import { GraphPanel } from "./graph.js";
import { headerView, findingsView, timingView, profileView, memoryView, textsView } from "./panels.js";

const GRAPH_TABS = { jaxpr: "jaxpr graph", hlo: "HLO graph" };
const MEMO = "_jaxviz_view";

export function createApp(el, model) {
  const root = h("div", { class: "jaxviz", tabindex: "-1" });
  const header = h("div");
  const kernel = new Kernel(model, (text, kind) => graph.setStatus(text, kind));
  // JupyterLab draws an output anew when Python updates it (its static view, once the
  // background work is done): the new drawing keeps the tab, and the graph where the user
  // left it. Kept on the model, in this page only (never sent to Python).
  const memo = LIVE ? { ...(model.get(MEMO) ?? {}) } : {};
  const remember = (change) => {
    if (!LIVE) return;
    Object.assign(memo, change);
    model.set?.(MEMO, { ...memo });
  };
  const graph = new GraphPanel(model, kernel, root, { movedTo: memo.movedTo, moved: (movedTo) => remember({ movedTo }) });

  let textsAsked = false;
  const panels = {
    jaxpr: h("div", { class: "jv-panel" }),
    hlo: h("div", { class: "jv-panel" }),
    findings: h("div", { class: "jv-panel" }),
    timing: h("div", { class: "jv-panel" }),
    text: h("div", { class: "jv-panel" }),
  };
  const tabs = new Tabs(
    [
      ...Object.entries(GRAPH_TABS).map(([key, label]) => ({ key, label, panel: panels[key] })),
      { key: "findings", label: "findings", panel: panels.findings },
      { key: "timing", label: "timing", panel: panels.timing },
      { key: "text", label: "text", panel: panels.text },
    ],
    (key) => {
      remember({ tab: key });
      if (key in GRAPH_TABS) showGraphTab(key);
      // Python sends the program texts when they are first wanted (they can be big).
      if (key === "text" && model.get("texts") === null && kernel.live && !textsAsked) {
        textsAsked = true;
        kernel.ask({ type: "texts" }, "loading texts…").catch(() => (textsAsked = false));
      }
    },
  );

  /** A graph tab holds the graph panel when its view can be drawn, else says why not. */
  function showGraphTab(view) {
    const note = (model.get("views") ?? {})[view];
    if (note) {
      fill(panels[view], h("p", { class: "jv-placeholder" }, note));
      return;
    }
    if (view !== model.get("view") && !kernel.live) {
      fill(panels[view], h("p", { class: "jv-placeholder" }, `This output holds the ${model.get("view")} graph only. ${NO_KERNEL}`));
      return;
    }
    fill(panels[view], graph.el);
    graph.showView(view);
  }

  /** "show in graph" of a finding: its view's tab, its first node selected (its groups opened
   * when the kernel is there; else the closed group holding it). */
  const showFinding = (k) => {
    const finding = (model.get("findings") ?? [])[k];
    if (finding.view === model.get("view")) tabs.select(finding.view);
    graph.showNode(finding.view, finding.node, (model.get("finding_nodes") ?? [])[k], k);
  };
  const measure = () => kernel.ask({ type: "time" }, "timing eager vs jit…").catch(() => {});
  const profile = () => kernel.ask({ type: "profile" }, "profiling the ops…").catch(() => {});
  const peak = () => kernel.ask({ type: "memory" }, "reading XLA's buffer assignment…").catch(() => {});
  /** "show in graph" of a profiled op or a buffer: its box in the view shown (the HLO
   * view's, or in the jaxpr view the first equation it links to). */
  const showOp = (op) => {
    const view = model.get("view") === "jaxpr" && op.jaxpr_node ? "jaxpr" : "hlo";
    tabs.select(view);
    graph.showNode(view, view === "hlo" ? op.hlo_node : op.jaxpr_node);
  };

  fill(
    root,
    h("style", {}, css),
    header,
    !kernel.live && h("div", { class: "jv-note" }, "Static view: drag to pan, wheel or buttons to zoom, hover and click for details. ", NO_KERNEL),
    tabs.el,
    Object.values(panels),
  );
  el.append(root);

  // Re-draw what changed: the model replaces a trait's value whenever Python sets it.
  const drawn = {};
  const changed = (key) => {
    const value = model.get(key);
    if (drawn[key] === value) return false;
    drawn[key] = value;
    return true;
  };
  function update() {
    if (changed("header")) fill(header, headerView(model.get("header") ?? {}));
    if (changed("findings")) {
      const findings = model.get("findings") ?? [];
      fill(panels.findings, findingsView(findings, showFinding));
      tabs.setLabel("findings", findings.length ? `findings (${findings.length})` : "findings");
    }
    if ([changed("timing"), changed("progress"), changed("profile"), changed("memory_peak")].some(Boolean)) {
      fill(panels.timing, timingView(model.get("timing"), kernel.live && measure, (model.get("progress") ?? {}).time),
        profileView(model.get("profile"), kernel.live && profile, showOp),
        memoryView(model.get("memory_peak"), kernel.live && peak, showOp));
    }
    if (changed("texts")) {
      const texts = model.get("texts");
      fill(panels.text, texts ? textsView(texts, model.get("header")?.errors)
        : h("p", { class: "jv-placeholder" }, kernel.live ? "Loading the program texts…" : NO_KERNEL));
    }
    const views = changed("views");
    const nodes = changed("nodes");
    if (["svg", "hidden", "sources", "expanded"].map(changed).some(Boolean)) {
      graph.render();
      // A new view arrived (a tab, or a link in the details panel, asked for it): show its tab.
      if (tabs.current in GRAPH_TABS && tabs.current !== model.get("view")) tabs.select(model.get("view"));
    } else if (nodes) {
      graph.refreshNodes(); // same drawing, the index now with links: keep pan, zoom and selection
    }
    if (views && tabs.current in GRAPH_TABS) showGraphTab(tabs.current);
  }
  update();
  // Start on the graph, or on the findings when the graph cannot be drawn (tracing failed).
  const cannotDraw = (model.get("views") ?? {})[model.get("view")];
  tabs.select(memo.tab ?? (cannotDraw && (model.get("findings") ?? []).length ? "findings" : model.get("view")));
  model.on("change", update);

  // Keys: "/" search, "f" fit, Esc clear the selection (not while typing in a field).
  root.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target.closest("input, select, textarea");
    const action = {
      "/": () => graph.search.focus(),
      f: () => graph.fit(),
      Escape: () => graph.select(null),
    }[event.key];
    if (!action || (typing && event.key !== "Escape") || !(tabs.current in GRAPH_TABS)) return;
    event.preventDefault();
    event.stopPropagation(); // not a notebook shortcut too
    action();
  });

  return {
    destroy() {
      model.off("change", update);
      kernel.destroy();
      graph.destroy();
    },
  };
}
