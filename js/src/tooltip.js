// The hover card over the graph: what a node is, its shapes, and where it came from.
import { h, fill } from "./dom.js";
import { REMOVED_TEXT, kindText, measuredTexts, shapesText, sourceText } from "./describe.js";

export class Tooltip {
  constructor(container) {
    this.container = container;
    this.el = h("div", { class: "jv-tooltip", role: "tooltip", hidden: true });
    container.append(this.el);
  }

  /** Show a node's card near a pointer position (client coordinates). */
  show(node, clientX, clientY, hint, perCall = null) {
    const code = node.source?.[3];
    fill(
      this.el,
      h("div", { class: "jv-tip-title" }, node.label),
      h("div", { class: "jv-dim" }, kindText(node)),
      node.removed && h("div", { class: "jv-removed-note" }, REMOVED_TEXT),
      shapesText(node) && h("div", { class: "jv-mono" }, shapesText(node)),
      sourceText(node) && h("div", { class: "jv-dim" }, sourceText(node)),
      code && h("div", { class: "jv-mono jv-code" }, code),
      measuredTexts(node, perCall).map((text) => h("div", { class: "jv-time" }, text)),
      hint && h("div", { class: "jv-hint" }, hint),
    );
    this.el.hidden = false;
    // Keep the card inside the graph area, beside the pointer.
    const box = this.container.getBoundingClientRect();
    const x = Math.min(clientX - box.left + 14, box.width - this.el.offsetWidth - 4);
    const y = clientY - box.top + 14;
    const below = y + this.el.offsetHeight < box.height;
    this.el.style.left = `${Math.max(4, x)}px`;
    this.el.style.top = `${below ? y : Math.max(4, clientY - box.top - this.el.offsetHeight - 8)}px`;
  }

  hide() {
    this.el.hidden = true;
  }
}
