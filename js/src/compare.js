// One output for a comparison of two traces (jaxviz/display/comparison.py): the summary and
// the figures of both, a jaxpr / HLO switch for both graphs, and the two graph panels side
// by side. Pointing at or selecting a box outlines its partners in the other graph; boxes
// with no partner are dashed red. Each side is the trace widget's graph panel, over a view
// of the model that reads that side's traits and sends its requests with the side's name.
import css from "./style.css";
import { h, fill, download } from "./dom.js";
import { Kernel, NO_KERNEL } from "./kernel.js";
import { GraphPanel } from "./graph.js";

const SIDES = ["left", "right"];
const VIEWS = { jaxpr: "jaxpr graphs", hlo: "HLO graphs" };
const PICTURES = { svg: "image/svg+xml", png: "image/png", pdf: "application/pdf" };

/** The model as one side's graph panel reads it: that side's traits, its requests tagged. */
function sideModel(model, side) {
  const view = {
    get: (key) => (model.get(side) ?? {})[key],
    on: (event, listener) => model.on(event, listener),
    off: (event, listener) => model.off(event, listener),
  };
  if (typeof model.send === "function") {
    view.send = (content, callbacks, buffers) => model.send({ ...content, side }, callbacks, buffers);
  }
  return view;
}

export function createCompare(el, model) {
  const root = h("div", { class: "jaxviz jv-compare", tabindex: "-1" });
  const status = h("span", { class: "jv-status", role: "status" });
  const kernel = new Kernel(model, (text, kind) => {
    status.textContent = text;
    status.dataset.kind = kind;
  });
  const names = model.get("names") ?? ["left", "right"];
  // Drawn id -> the drawn ids of its partners in the other graph, per side.
  let partners = [new Map(), new Map()];
  const selected = [null, null];
  const graphs = SIDES.map((side, k) => {
    const sm = sideModel(model, side);
    const graph = new GraphPanel(sm, new Kernel(sm, (text, kind) => graph.setStatus(text, kind)), root, {
      hover: (id) => outline(k, id ?? selected[k], false),
      select: (id) => {
        selected[k] = id;
        outline(k, id, true);
      },
    });
    return graph;
  });

  /** Outline in the other graph the partners of drawn node ``id`` of side ``k``. */
  function outline(k, id, center) {
    graphs[1 - k].flag("jv-partner", id ? partners[k].get(id) ?? [] : [], center);
  }

  const bodies = SIDES.map(() => h("div"));
  const toggle = Object.fromEntries(Object.entries(VIEWS).map(([view, label]) => [
    view,
    h("button", { "aria-pressed": "false", title: `show both ${label}`, onclick: () => showView(view), disabled: !kernel.live }, label),
  ]));
  const live = kernel.live;
  const pictures = Object.keys(PICTURES).map((format) => h(
    "button",
    { title: live ? `download both graphs in one ${format.toUpperCase()}` : `downloading both graphs needs a running kernel`,
      "aria-label": `download both graphs as ${format.toUpperCase()}`, disabled: !live, onclick: () => picture(format) },
    `both ${format.toUpperCase()}`,
  ));
  const summary = h("div", { class: "jv-summary" });
  const figures = h("table", { class: "jv-figures" });
  fill(
    root,
    h("style", {}, css),
    h("div", { class: "jv-header" }, h("b", {}, `${names[0]} vs ${names[1]}`)),
    summary,
    figures,
    h("div", { class: "jv-dim" }, "Point at or click a box to outline its partners in the other graph; dashed red: no partner."),
    !live && h("div", { class: "jv-note" }, "Static view: drag to pan, wheel or buttons to zoom, hover and click for details. ", NO_KERNEL),
    h("div", { class: "jv-toolbar" }, h("span", { class: "jv-group jv-view-toggle" }, Object.values(toggle)), h("span", { class: "jv-group" }, pictures), status),
    h("div", { class: "jv-sides" }, SIDES.map((side, k) => h("div", {}, h("div", { class: "jv-side-name" }, names[k]), bodies[k]))),
  );
  el.append(root);

  function showView(view) {
    if (view !== model.get("left")?.view) kernel.ask({ type: "view", view }, "laying out both…").catch(() => {});
  }

  function picture(format) {
    kernel
      .ask({ type: "picture", format }, `making ${format.toUpperCase()}…`)
      .then(({ msg, buffers }) => download(new Blob([buffers[0]], { type: PICTURES[format] }), msg.filename))
      .catch(() => {});
  }

  // What each side drew last: a new drawing is drawn anew, new links only refresh the index.
  const drawn = [{}, {}];
  function update() {
    fill(summary, (model.get("summary") ?? []).map((line) => h("p", {}, quoted(line))));
    fill(
      figures,
      h("tr", {}, h("th", {}), names.map((name) => h("th", { scope: "col" }, name))),
      (model.get("figures") ?? []).map(([what, a, b]) => h("tr", {}, h("th", { scope: "row" }, what), h("td", {}, a), h("td", {}, b))),
    );
    SIDES.forEach((side, k) => {
      const state = model.get(side) ?? {};
      const note = (state.views ?? {})[state.view];
      if (note || !state.svg) {
        fill(bodies[k], h("p", { class: "jv-placeholder" }, note || "Nothing to draw."));
        drawn[k] = {};
        return;
      }
      if (graphs[k].el.parentNode !== bodies[k]) fill(bodies[k], graphs[k].el);
      const key = `${state.view} ${(state.expanded ?? []).join(" ")}`;
      if (drawn[k].svg !== state.svg || drawn[k].key !== key) graphs[k].render();
      else if (drawn[k].nodes !== state.nodes) graphs[k].refreshNodes();
      drawn[k] = { svg: state.svg, key, nodes: state.nodes };
    });
    partners = [new Map(), new Map()];
    for (const [a, b] of model.get("pairs") ?? []) {
      push(partners[0], a, b);
      push(partners[1], b, a);
    }
    const unmatched = model.get("unmatched") ?? [[], []];
    graphs.forEach((graph, k) => {
      graph.flag("jv-unmatched", unmatched[k] ?? []);
      outline(1 - k, selected[1 - k], false);
    });
    const view = model.get("left")?.view;
    for (const [name, button] of Object.entries(toggle)) button.setAttribute("aria-pressed", String(name === view));
  }
  update();
  model.on("change", update);

  return {
    destroy() {
      model.off("change", update);
      kernel.destroy();
      graphs.forEach((graph) => {
        graph.kernel.destroy();
        graph.destroy();
      });
    },
  };
}

/** A sentence with its `quoted` names as code (text nodes: names stay text). */
function quoted(line) {
  return line.split("`").map((part, i) => (i % 2 ? h("code", {}, part) : part));
}

function push(map, key, value) {
  if (!map.has(key)) map.set(key, []);
  map.get(key).push(value);
}
