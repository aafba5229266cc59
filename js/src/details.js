// The details panel beside the graph: everything about the selected node, with links to the
// nodes it reads and feeds, the findings about it, and its counterparts in the other view.
import { h, fill } from "./dom.js";
import { REMOVED_TEXT, kindText, measuredTexts, sourceText } from "./describe.js";

export class Details {
  /**
   * ``actions``: select(id) to follow a link to another node, toggle(id) to open or close a
   * group, link(id) to show a node of the other view, needLinks() when the node index does
   * not list the other view's counterparts yet (Python builds and links that view on demand).
   */
  constructor(container, actions) {
    this.actions = actions;
    this.el = h("aside", { class: "jv-details", hidden: true, tabindex: "-1", "aria-label": "node details" });
    container.append(this.el);
  }

  /**
   * Show node ``id``. ``graph``: {nodes, findings, legend (Map category -> name), expanded
   * (Set), live (expanding possible), otherView, linked (nodes list their counterparts),
   * linksSlow (linking takes seconds: offer it, do not ask at once), perCall (a profile's
   * seconds per call, or null)}.
   */
  show(id, graph) {
    const node = graph.nodes[id];
    const { actions } = this;
    const nodeButton = ([other, shape]) => {
      const target = graph.nodes[other];
      return h(
        "li",
        {},
        h("button", { class: "jv-link", onclick: () => actions.select(other) }, target?.label ?? other),
        shape && h("span", { class: "jv-mono jv-dim" }, ` ${shape}`),
      );
    };
    const list = (title, items, render) =>
      items.length > 0 && [h("h4", {}, title), h("ul", { class: "jv-list" }, items.map(render))];

    const hadFocus = this.el.contains(document.activeElement);
    const isOpen = graph.expanded.has(id);
    const findings = (node.findings ?? []).map((k) => graph.findings[k]);
    fill(
      this.el,
      h(
        "div",
        { class: "jv-details-head" },
        h("h3", {}, node.label),
        h("button", { class: "jv-close", title: "Close (Esc)", "aria-label": "close details", onclick: () => actions.close() }, "×"),
      ),
      h("div", { class: "jv-dim" }, kindText(node), " · ", graph.legend.get(node.category) ?? node.category),
      node.removed && h("div", { class: "jv-removed-note" }, REMOVED_TEXT),
      measuredTexts(node, graph.perCall).map((text) => h("div", { class: "jv-time" }, text)),
      node.kind === "group" &&
        h(
          "div",
          { class: "jv-actions" },
          h(
            "button",
            { onclick: () => actions.toggle(id), disabled: !graph.canToggle, title: graph.canToggle ? null : "needs a running kernel" },
            isOpen ? "Collapse group" : "Expand group",
          ),
        ),
      node.shape && [h("h4", {}, "Value"), h("div", { class: "jv-mono" }, node.shape)],
      list("Inputs", node.inputs ?? [], nodeButton),
      list("Used by", node.outputs ?? [], nodeButton),
      node.source && [
        h("h4", {}, "Source"),
        h("div", { title: node.source[0] }, sourceText(node)),
        node.source[3] && h("pre", { class: "jv-code" }, node.source[3]),
      ],
      list("Parameters", Object.entries(node.params ?? {}), ([name, value]) =>
        h("li", {}, h("span", { class: "jv-param" }, name), " ", h("span", { class: "jv-mono" }, value)),
      ),
      list("Findings", findings, (f) => h("li", {}, `${f.severity}: ${f.message}`)),
      graph.linked &&
        list(`In the ${graph.otherView} graph`, node.links ?? [], ([other, label]) =>
          h("li", {}, h("button", { class: "jv-link", onclick: () => actions.link(other) }, label)),
        ),
      graph.linked && node.more_links && h("div", { class: "jv-dim" }, `and ${node.more_links.toLocaleString("en")} more`),
      !graph.linked && [
        h("h4", {}, `In the ${graph.otherView} graph`),
        !graph.live && h("div", { class: "jv-dim jv-linking" }, "finding the counterparts needs a running kernel"),
        graph.live && !graph.linksSlow && h("div", { class: "jv-dim jv-linking" }, "finding the counterparts…"),
        graph.live &&
          graph.linksSlow &&
          h(
            "button",
            { class: "jv-linking", onclick: () => actions.needLinks(), title: "parses this program's HLO and links it to the jaxpr" },
            "find the counterparts (a few seconds: the HLO is large)",
          ),
      ],
    );
    if (!graph.linked && graph.live && !graph.linksSlow) actions.needLinks();
    this.el.hidden = false;
    if (hadFocus) this.el.focus(); // the focused link is gone: keep focus (and keys) in the widget
  }

  hide() {
    this.el.hidden = true;
  }
}
