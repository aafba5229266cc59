// A row of tabs (WAI-ARIA tab pattern: arrow keys move between tabs, one tab stop).
import { h } from "./dom.js";

export class Tabs {
  /** ``items``: [{key, label, panel}]; ``onSelect(key)`` runs after a tab is shown. */
  constructor(items, onSelect) {
    this.onSelect = onSelect;
    this.items = items;
    this.buttons = new Map();
    this.el = h("div", { class: "jv-tabs", role: "tablist" });
    for (const { key, label, panel } of items) {
      const id = `jv-${key}-${Math.random().toString(36).slice(2, 8)}`;
      panel.id = id;
      panel.setAttribute("role", "tabpanel");
      const button = h(
        "button",
        { role: "tab", class: "jv-tab", "data-tab": key, "aria-controls": id, onclick: () => this.select(key) },
        label,
      );
      button.addEventListener("keydown", (event) => this.keydown(event, key));
      this.buttons.set(key, button);
      this.el.append(button);
    }
  }

  select(key, focus = false) {
    for (const item of this.items) {
      const on = item.key === key;
      const button = this.buttons.get(item.key);
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      item.panel.hidden = !on;
      if (on && focus) button.focus();
    }
    this.current = key;
    this.onSelect(key);
  }

  setLabel(key, label) {
    this.buttons.get(key).textContent = label;
  }

  keydown(event, key) {
    const keys = this.items.map((item) => item.key);
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    event.stopPropagation();
    this.select(keys[(keys.indexOf(key) + step + keys.length) % keys.length], true);
  }
}
