// Search the view graph: by primitive or HLO opcode, label (variables are labelled by their
// names), source code or function, or a line number ("12", ":12", "line 12").
import { h } from "./dom.js";

/**
 * What matches a query: ``drawn``, the ids of drawn nodes, in graph order, and ``hidden``,
 * the entries ({standIn, op, label, source, count}) for nodes inside closed groups.
 */
export function findMatches(nodes, hidden, query) {
  const q = query.trim().toLowerCase();
  if (!q) return { drawn: [], hidden: [] };
  const line = /^(?:line\s*|l|:)?(\d+)$/.exec(q);
  const matches = (node) => {
    if (line) return node.source?.[1] === Number(line[1]);
    return [node.op, node.label, node.source?.[2], node.source?.[3]].some(
      (text) => text && text.toLowerCase().includes(q),
    );
  };
  return { drawn: Object.keys(nodes).filter((id) => matches(nodes[id])), hidden: hidden.filter(matches) };
}

/** The search box: type to highlight, Enter / Shift+Enter (or the arrows) to step. */
export class SearchBox {
  /** ``on``: input(query), step(+1 | -1), reveal() to open the groups hiding matches. */
  constructor(on) {
    this.input = h("input", {
      type: "search",
      class: "jv-search-input",
      placeholder: "search: op, name, code, line",
      "aria-label": "search the graph (/)",
      oninput: () => on.input(this.input.value),
      onkeydown: (event) => {
        if (event.key === "Escape" && !this.input.value) return; // the widget's Esc: clear selection
        event.stopPropagation(); // typing here is not a notebook shortcut
        if (event.key === "Enter") {
          event.preventDefault();
          on.step(event.shiftKey ? -1 : 1);
        } else if (event.key === "Escape" && this.input.value) {
          event.preventDefault();
          this.input.value = "";
          on.input("");
        }
      },
    });
    this.count = h("span", { class: "jv-count jv-dim", "aria-live": "polite" });
    this.revealButton = h(
      "button",
      { class: "jv-reveal", hidden: true, onclick: () => on.reveal(), title: "expand the groups that hide matches" },
      "show hidden",
    );
    this.el = h(
      "div",
      { class: "jv-search", role: "search" },
      this.input,
      h("button", { title: "previous match (Shift+Enter)", "aria-label": "previous match", onclick: () => on.step(-1) }, "‹"),
      h("button", { title: "next match (Enter)", "aria-label": "next match", onclick: () => on.step(1) }, "›"),
      this.count,
      this.revealButton,
    );
  }

  get query() {
    return this.input.value;
  }

  /** "2 of 5", plus how many matches hide inside collapsed groups. */
  show(current, total, hidden, canReveal) {
    const where = hidden ? ` (${hidden} in closed groups)` : "";
    this.count.textContent = !this.query.trim() ? "" : total ? `${current + 1} of ${total}${where}` : "no match";
    this.revealButton.hidden = !(hidden && canReveal);
  }

  focus() {
    this.input.focus();
    this.input.select();
  }
}
