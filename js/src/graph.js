// The graph panel: toolbar, the drawing (pan/zoom), hover card, details, search and legend.
// It draws whatever view the model holds (traits svg, nodes, expanded) and asks Python for
// new layouts through the kernel.
import { h, fill, safeName, download } from "./dom.js";
import { SvgView } from "./svgview.js";
import { Drawing } from "./drawing.js";
import { Tooltip } from "./tooltip.js";
import { Details } from "./details.js";
import { SearchBox, findMatches } from "./search.js";
import { downloadPng, downloadSvg } from "./exporting.js";
import { bytes, seconds } from "./describe.js";

const ZOOM_STEP = 1.25;
/** The heat scale of colouring by time or memory: none, then least to most (ColorBrewer OrRd). */
const NONE_MEASURED = "#f3f4f6";
const HEAT = [[255, 247, 236], [253, 187, 132], [215, 48, 31]];
/** Colourings besides the op kinds: the node index field each reads, and its words. */
const MEASURES = {
  seconds: { label: "colour by time", none: "no time measured", unit: (v) => `${seconds(v)} per call (the slowest op drawn; a group past it shows at the top)` },
  bytes: { label: "colour by memory", none: "nothing live at the peak", unit: (v) => `${bytes(v)} live at the peak (the biggest op drawn; a group past it shows at the top)` },
};

export class GraphPanel {
  /** ``root``: the widget's element (wheel zoom is on while focus is inside it).
   *  ``hooks``: ``hover(id)`` and ``select(id)``, told the drawn node pointed at or selected
   *  (null: none), for a comparison to outline partners in the other graph. */
  constructor(model, kernel, root, hooks = {}) {
    this.model = model;
    this.kernel = kernel;
    this.hooks = hooks;
    this.selected = null;
    this.matches = [];
    this.current = -1;
    this.anchor = null; // the group being opened or closed, to keep in place

    this.viewport = h("div", { class: "jv-viewport" });
    this.view = new SvgView(
      this.viewport,
      (event) => event.ctrlKey || event.metaKey || root.contains(document.activeElement),
      ({ x, y, k }) => hooks.moved?.({ view: this.drawnView, x, y, k }),
    );
    this.area = h("div", { class: "jv-area" }, this.viewport);
    this.tooltip = new Tooltip(this.area);
    this.details = new Details(this.area, {
      select: (id) => this.select(id, true),
      toggle: (id) => this.toggle(id),
      link: (id) => this.showNode(this.otherView(), id),
      needLinks: () => this.askLinks(),
      close: () => this.select(null),
    });
    this.search = new SearchBox({
      input: () => this.runSearch(true),
      step: (delta) => this.step(delta),
      reveal: () => this.reveal(),
    });
    this.depthSelect = h(
      "select",
      { "aria-label": "open groups to depth", title: "open groups down to a depth", onchange: () => this.openToDepth() },
    );
    this.status = h("span", { class: "jv-status", role: "status" });
    this.legend = h("div", { class: "jv-legend", "aria-label": "node colours" });
    this.heat = null; // colour boxes by a measure (MEASURES), not by op category
    this.heatButtons = Object.entries(MEASURES).map(([measure, { label }]) => h("button", {
      title: measure === "seconds" ? "colour boxes by their share of the run (from the profile)"
        : "colour boxes by what they made that is live at the memory peak",
      "aria-pressed": "false", hidden: true, "data-measure": measure,
      onclick: () => this.toggleHeat(measure),
    }, label));
    const live = kernel.live;
    const button = (label, title, onclick, extra = {}) =>
      h("button", { title, "aria-label": title, onclick, ...extra }, label);
    this.expandButtons = [
      button("expand all", "open every group", () => this.expand("all")),
      button("collapse all", "close every group", () => this.expand("none")),
    ];
    this.toolbar = h(
      "div",
      { class: "jv-toolbar" },
      h(
        "span",
        { class: "jv-group" },
        button("−", "zoom out", () => this.view.zoomBy(1 / ZOOM_STEP)),
        button("+", "zoom in", () => this.view.zoomBy(ZOOM_STEP)),
        button("fit", "fit to view (f)", () => this.view.fit()),
      ),
      h("span", { class: "jv-group" }, this.expandButtons, this.depthSelect, this.heatButtons),
      this.search.el,
      h(
        "span",
        { class: "jv-group" },
        button("SVG", "download SVG", () => downloadSvg(this.model.get("svg"), this.fileName())),
        button("PNG", "download PNG", () => downloadPng(this.model.get("svg"), this.fileName())),
        button("PDF", live ? "download PDF" : "download PDF (needs a running kernel)", () => this.pdf(), { disabled: !live }),
      ),
      this.status,
    );
    this.foldNote = h("div", { class: "jv-folded", hidden: true });
    this.el = h("div", { class: "jv-graph" }, this.toolbar, this.foldNote, this.area, this.legend);

    this.viewport.addEventListener("click", (event) => this.click(event));
    this.viewport.addEventListener("pointermove", (event) => this.hover(event));
    this.viewport.addEventListener("pointerleave", () => {
      this.tooltip.hide();
      this.hooks.hover?.(null);
    });
  }

  // -- drawing --------------------------------------------------------------------------

  /** Draw the model's view; keeps the group just opened or closed where it was on screen. */
  render() {
    const svgText = this.model.get("svg");
    const sources = this.model.get("sources") ?? [];
    const nodes = withSources(this.model.get("nodes") ?? {}, sources);
    const viewChanged = this.model.get("view") !== this.drawnView;
    this.drawnView = this.model.get("view");
    // The selection, or the closed group it went into (found through the previous index).
    let selected = null;
    for (let id = viewChanged ? null : this.selected; id && !selected; id = this.nodes[id]?.group) {
      if (nodes[id]) selected = id;
    }
    this.nodes = nodes;
    this.hidden = (this.model.get("hidden") ?? []).flatMap(hiddenEntries(sources));
    this.expanded = new Set(this.model.get("expanded") ?? []);
    this.tooltip.hide();
    const folded = this.model.get("folded") ?? "";
    this.foldNote.textContent = folded;
    this.foldNote.hidden = !folded;
    if (!svgText) return;
    this.drawing = new Drawing(this.view.show(svgText), nodes);
    // Size the box to the drawing; after expanding it only grows, so the page does not jump.
    const height = this.view.fittingHeight();
    if (viewChanged || height > this.viewport.offsetHeight) this.viewport.style.height = `${height}px`;
    const anchor = this.anchor && this.drawing.element(this.drawing.standIn(this.anchor.id));
    const back = this.hooks.movedTo;
    if (anchor && !viewChanged) this.view.keepInPlace(anchor, this.anchor.before);
    else if (back?.view === this.drawnView) this.view.restore(back);
    else this.view.start(this.inputElements());
    this.anchor = null;
    this.hooks.movedTo = null;
    this.select(selected);
    this.runSearch(false);
    this.paintHeat();
    this.renderLegend();
    this.renderDepths();
  }

  toggleHeat(measure) {
    this.heat = this.heat === measure ? null : measure;
    this.paintHeat();
    this.renderLegend();
  }

  /** The boxes' fills: by a measure on a heat scale (the biggest box drawn is the hottest),
   * or as Graphviz drew them. A measure's button shows where the node index has it. */
  paintHeat() {
    for (const button of this.heatButtons) {
      const measure = button.dataset.measure;
      button.hidden = !Object.values(this.nodes).some((node) => node[measure]);
      if (button.hidden && this.heat === measure) this.heat = null;
      button.setAttribute("aria-pressed", String(this.heat === measure));
    }
    if (!this.drawing) return;
    const boxes = [...this.drawing.elements].filter(([, el]) => el.classList.contains("node"));
    // The scale ends at the biggest op drawn: closed groups hold many, and would pale them all.
    const values = (kinds) => boxes.filter(([id]) => kinds(this.nodes[id].kind)).map(([id]) => this.nodes[id][this.heat] ?? 0);
    this.hottest = this.heat ? Math.max(0, ...values((kind) => kind !== "group")) || Math.max(0, ...values(() => true)) : 0;
    for (const [id, el] of boxes) {
      for (const shape of el.querySelectorAll(":scope > :is(rect, path, polygon)")) {
        if (shape.getAttribute("fill") === "none") continue;
        const value = this.heat && this.nodes[id][this.heat];
        shape.style.fill = !this.heat ? "" : value ? heatColour(value / this.hottest) : NONE_MEASURED;
      }
    }
  }

  /** The drawn inputs (and their pytree groups): where the first picture starts. */
  inputElements() {
    return [...this.drawing.elements]
      .filter(([id, el]) => el.classList.contains("node")
        && (this.nodes[id].kind === "input" || this.nodes[id].op === "inputs"))
      .map(([, el]) => el);
  }

  /** The colours of the boxes drawn now (open groups are frames, not coloured boxes); by
   * time: the heat scale. */
  renderLegend() {
    if (this.heat) {
      const measure = MEASURES[this.heat];
      fill(
        this.legend,
        h("span", { class: "jv-key" }, h("i", { style: `background:${NONE_MEASURED}` }), measure.none),
        h("span", { class: "jv-key jv-heat-key" }, "0",
          h("i", { class: "jv-heat-scale", style: `background:linear-gradient(to right, ${HEAT.map((c) => `rgb(${c})`).join(", ")})` }),
          measure.unit(this.hottest)),
      );
      return;
    }
    const drawn = [...this.drawing.elements].filter(([, el]) => el.classList.contains("node"));
    const present = new Set(drawn.map(([id]) => this.nodes[id].category));
    const items = (this.model.get("legend") ?? []).filter(([category]) => present.has(category));
    fill(
      this.legend,
      items.map(([category, colour, name]) =>
        h("span", { class: "jv-key", "data-category": category }, h("i", { style: `background:${colour}` }), name),
      ),
    );
  }

  renderDepths() {
    const levels = this.model.get("depth") ?? 0;
    const options = [h("option", { value: "" }, "open to depth…")];
    for (let d = 1; d <= levels; d++) options.push(h("option", { value: d }, `depth ${d}`));
    fill(this.depthSelect, options);
    const none = levels === 0;
    for (const control of [...this.expandButtons, this.depthSelect]) control.disabled = none || !this.kernel.live;
  }

  fileName() {
    return `${safeName(this.model.get("header")?.fn_name ?? "jaxviz")}-${this.model.get("view")}`;
  }

  otherView() {
    return this.model.get("view") === "hlo" ? "jaxpr" : "hlo";
  }

  fit() {
    this.view.fit();
  }

  // -- selection and hover ------------------------------------------------------------

  click(event) {
    const id = this.drawing?.idAt(event.target);
    this.select(id);
    if (id && this.nodes[id].kind === "group") this.toggle(id);
  }

  hover(event) {
    const id = event.buttons ? null : this.drawing?.idAt(event.target);
    this.hooks.hover?.(id);
    if (!id) {
      this.tooltip.hide();
      return;
    }
    const node = this.nodes[id];
    let hint = "";
    if (node.kind === "group") {
      const action = this.expanded.has(id) ? "collapse" : "expand";
      hint = this.canToggle(id) ? `click to ${action}` : `${action}ing needs a running kernel`;
    }
    this.tooltip.show(node, event.clientX, event.clientY, hint, this.model.get("profile")?.per_call);
  }

  /** Select a node (null: clear): details panel, and its data flow highlighted. */
  select(id, center = false) {
    const shown = id && this.drawing ? this.drawing.standIn(id) : null;
    this.selected = shown;
    this.drawing?.select(shown);
    this.hooks.select?.(shown);
    if (!shown) {
      this.details.hide();
      return;
    }
    this.showDetails(shown);
    if (center) this.view.center(this.drawing.element(shown));
  }

  /** The details panel of drawn node ``id``. */
  showDetails(id) {
    this.details.show(id, {
      nodes: this.nodes,
      findings: this.model.get("findings") ?? [],
      legend: new Map((this.model.get("legend") ?? []).map(([category, , name]) => [category, name])),
      expanded: this.expanded,
      live: this.kernel.live,
      canToggle: this.canToggle(id),
      otherView: this.otherView() === "hlo" ? "HLO" : "jaxpr",
      linked: this.model.get("linked") ?? true,
      linksSlow: this.model.get("links_slow") ?? false,
      perCall: this.model.get("profile")?.per_call ?? null,
    });
  }

  // -- asking Python for other layouts ------------------------------------------------

  /** The open groups once group ``id`` is opened (with the groups around it) or closed. */
  toggled(id) {
    const open = new Set(this.expanded);
    if (open.has(id)) open.delete(id);
    else for (let g = id; g; g = this.nodes[g]?.group) open.add(g);
    return [...open];
  }

  /** Whether opening or closing group ``id`` can be answered (a kernel, or a layout the
   *  static page carries). */
  canToggle(id) {
    return this.kernel.canAnswer({ type: "expand", expand: this.toggled(id) });
  }

  toggle(id) {
    const el = this.drawing.element(id);
    this.anchor = el ? { id, before: this.view.screenCenter(el) } : null;
    this.expand(this.toggled(id));
  }

  /** Once per output: Python builds the other view and sends the node index with links. */
  askLinks() {
    if (this.linking) return;
    this.linking = this.kernel
      .ask({ type: "links" }, "linking the jaxpr and HLO graphs…")
      .catch(() => {
        this.linking = null; // let a later selection try again
      });
  }

  /** The node index changed but not the drawing (links or a profile arrived): refresh the details, and
   * leave the selection and its highlights as they are. */
  refreshNodes() {
    const nodes = withSources(this.model.get("nodes") ?? {}, this.model.get("sources") ?? []);
    this.nodes = nodes;
    if (this.drawing) this.drawing.nodes = nodes;
    if (this.selected && nodes[this.selected]) this.showDetails(this.selected);
    this.paintHeat(); // a profile may have arrived
    this.renderLegend();
  }

  /** ``request``: "all", "none", a depth, or the ids of the groups to open. */
  expand(request) {
    this.kernel.ask({ type: "expand", expand: request }, "laying out…").catch(() => {});
  }

  /** Switch to another view, as it was last shown. */
  showView(view) {
    if (view === this.model.get("view")) return;
    this.kernel.ask({ type: "view", view }, "laying out…").catch(() => {});
  }

  /** Select node ``id`` of ``view``: Python opens the groups hiding it (switching views if
   * needed). With no kernel, ``fallback`` (what is drawn for it) is selected instead.
   * ``finding``: the index of a finding to mark all the drawn nodes of, too. */
  showNode(view, id, fallback = null, finding = null) {
    const show = (target) => {
      this.select(target, true);
      if (finding !== null) this.markFinding(finding);
    };
    if (view === this.model.get("view") && this.nodes[id]) {
      show(id);
    } else if (!this.kernel.live) {
      show(view === this.model.get("view") ? fallback : null);
    } else {
      this.kernel
        .ask({ type: "reveal", view, node: id }, "laying out…")
        .then(() => show(id))
        .catch(() => {});
    }
  }

  /** Mark drawn nodes ``ids`` with CSS class ``name`` (only those); ``center``: show the
   *  first in the middle of the view. */
  flag(name, ids, center = false) {
    if (!this.drawing) return;
    this.drawing.flag(name, ids);
    const first = ids.map((id) => this.drawing.element(id)).find(Boolean);
    if (center && first) this.view.center(first);
  }

  /** Outline every drawn node that finding ``k`` is about (closed groups holding such). */
  markFinding(k) {
    const ids = Object.keys(this.nodes).filter((id) => this.nodes[id].findings?.includes(k));
    this.drawing.markFinding(ids);
  }

  openToDepth() {
    const value = this.depthSelect.value;
    this.depthSelect.value = "";
    if (value) this.expand(Number(value));
  }

  pdf() {
    this.kernel
      .ask({ type: "pdf" }, "making PDF…")
      .then(({ msg, buffers }) => download(new Blob([buffers[0]], { type: "application/pdf" }), msg.filename))
      .catch(() => {});
  }

  // -- search ---------------------------------------------------------------------------

  /** Highlight the matches of the query; ``typed``: the query changed, show the first. */
  runSearch(typed) {
    if (!this.drawing) return;
    const { drawn, hidden } = findMatches(this.nodes, this.hidden, this.search.query);
    // Steps: drawn matches and the closed groups holding hidden ones, in drawing order.
    const stops = new Set([...drawn, ...hidden.map((entry) => entry.standIn)]);
    this.matches = Object.keys(this.nodes).filter((id) => stops.has(id));
    this.hiddenMatches = hidden;
    if (typed || this.current >= this.matches.length) this.current = this.matches.length ? 0 : -1;
    this.showMatches(typed ? "center" : null);
  }

  /** Go to the next (+1) or previous (-1) match, and select it. */
  step(delta) {
    if (!this.matches.length) return;
    this.current = (this.current + delta + this.matches.length) % this.matches.length;
    this.showMatches("select");
  }

  /** Mark the matches; ``go``: "center" the current one, or "select" it, or neither. */
  showMatches(go) {
    const hidden = this.hiddenMatches.reduce((sum, entry) => sum + entry.count, 0);
    const current = this.current >= 0 ? this.matches[this.current] : null;
    this.drawing.mark(this.matches, current);
    this.search.show(this.current, this.matches.length, hidden, this.kernel.live);
    if (!current || !go) return;
    if (go === "select") this.select(current, true);
    else this.view.center(this.drawing.element(current));
  }

  /** Open the closed groups that hide matches (deeper ones show up closed: press again). */
  reveal() {
    const open = new Set(this.expanded);
    for (const { standIn } of this.hiddenMatches) {
      for (let g = standIn; g; g = this.nodes[g]?.group) open.add(g);
    }
    this.expand([...open]);
  }

  setStatus(text, kind) {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  destroy() {
    this.view.destroy();
  }
}

/** The heat scale's colour at ``t`` (0 to 1). */
function heatColour(t) {
  const x = Math.min(Math.max(t, 0), 1) * (HEAT.length - 1);
  const i = Math.min(Math.floor(x), HEAT.length - 2);
  const mix = HEAT[i].map((c, k) => Math.round(c + (HEAT[i + 1][k] - c) * (x - i)));
  return `rgb(${mix.join(",")})`;
}

/** One search entry from Python (state.py's numbered_families) -> the entries it stands for:
 * ``[standIn, op, label, source, count]``, or a family of labels differing in one number,
 * ``[standIn, op, [text, text, ...], source, count, [[first, last], ...]]`` (the number
 * goes between the texts); ``standIn`` may be a list: the same entry in each of them. */
function hiddenEntries(sources) {
  return ([standIns, op, label, source, count, ranges]) => {
    const labels = [];
    if (!ranges) labels.push(label);
    for (const [first, last] of ranges ?? []) {
      for (let n = first; n <= last; n++) labels.push(label.join(String(n)));
    }
    const resolved = source === null ? undefined : sources[source];
    return (Array.isArray(standIns) ? standIns : [standIns]).flatMap((standIn) =>
      labels.map((text) => ({ standIn, op, count, source: resolved, label: text })));
  };
}

/** The node index with each ``source`` (an index into the shared source lines) resolved. */
function withSources(nodes, sources) {
  return Object.fromEntries(
    Object.entries(nodes).map(([id, node]) => [id, node.source === undefined ? node : { ...node, source: sources[node.source] }]),
  );
}
