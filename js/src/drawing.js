// What the browser knows about one Graphviz drawing: which <g> stands for which node of the
// view graph, which edges are drawn, and how to highlight selections and search matches.
//
// Ids come from jaxviz/layout.py: a drawn node or collapsed group is <g id="n-ID">, an open
// group is a cluster <g id="c-ID">; edges to a group itself attach to an invisible node named
// "anchor_ID". Graphviz titles every edge "SRC->DST" with those node names.

const XLINK = "http://www.w3.org/1999/xlink";
const HIGHLIGHTS = ["jv-selected", "jv-up", "jv-down", "jv-flow", "jv-match", "jv-current", "jv-concerned"];

export class Drawing {
  /** ``svg``: the drawing's root element; ``nodes``: the view graph's node index. */
  constructor(svg, nodes) {
    this.svg = svg;
    this.nodes = nodes;
    this.elements = new Map();
    for (const g of svg.querySelectorAll("g.node, g.cluster")) {
      const match = /^[nc]-(.+)$/.exec(g.id);
      if (match && Object.hasOwn(nodes, match[1])) {
        this.elements.set(match[1], g);
        g.dataset.node = match[1];
      }
    }
    // Drawn edges, by the element they come into and the one they leave.
    this.into = new Map();
    this.outOf = new Map();
    for (const g of svg.querySelectorAll("g.edge")) {
      const title = g.querySelector(":scope > title")?.textContent ?? "";
      const [src, dst] = title.split("->").map((name) => name.replace(/^anchor_/, ""));
      if (!this.elements.has(src) || !this.elements.has(dst)) continue;
      const edge = { src, dst, el: g };
      push(this.into, dst, edge);
      push(this.outOf, src, edge);
    }
    // The widget draws its own tooltips: drop the browser's (from <title> and xlink:title).
    for (const title of svg.querySelectorAll("title")) title.remove();
    for (const link of svg.querySelectorAll("a")) link.removeAttributeNS(XLINK, "title");
  }

  /** The drawn element (node, collapsed group or cluster) for a node id, or null. */
  element(id) {
    return this.elements.get(id) ?? null;
  }

  /** The id of what is drawn for a node: itself, or the closed group it is hidden in. */
  standIn(id) {
    for (let current = id; current; current = this.nodes[current]?.group) {
      if (this.elements.has(current)) return current;
    }
    return null;
  }

  /** The node id of the drawn element an event happened in, or null. */
  idAt(target) {
    const g = target.closest?.("g[data-node]");
    return g && this.svg.contains(g) ? g.dataset.node : null;
  }

  /** Drawn ids inside an open group (members at any depth that are drawn). */
  inside(groupId) {
    const ids = [];
    for (const id of this.elements.keys()) {
      for (let g = this.nodes[id]?.group; g; g = this.nodes[g]?.group) {
        if (g === groupId) {
          ids.push(id);
          break;
        }
      }
    }
    return ids;
  }

  /** What feeds a drawn element (``up``), what it feeds (``down``) and the edges between. */
  flow(id) {
    const seeds = [id, ...this.inside(id)];
    const edges = new Set();
    const walk = (links, end) => {
      const seen = new Set(seeds);
      const queue = [...seeds];
      while (queue.length) {
        for (const edge of links.get(queue.shift()) ?? []) {
          edges.add(edge.el);
          if (!seen.has(edge[end])) {
            seen.add(edge[end]);
            queue.push(edge[end]);
          }
        }
      }
      for (const seed of seeds) seen.delete(seed);
      return seen;
    };
    return { seeds, up: walk(this.into, "src"), down: walk(this.outOf, "dst"), edges };
  }

  /** Mark a selection and its data flow; everything else is dimmed by CSS. */
  select(id) {
    this.clear(["jv-selected", "jv-up", "jv-down", "jv-flow", "jv-concerned"]);
    this.svg.classList.toggle("jv-focus", id !== null);
    if (id === null) return;
    const { seeds, up, down, edges } = this.flow(id);
    for (const seed of seeds) this.elements.get(seed).classList.add("jv-selected");
    for (const other of up) this.elements.get(other).classList.add("jv-up");
    for (const other of down) this.elements.get(other).classList.add("jv-down");
    for (const edge of edges) edge.classList.add("jv-flow");
  }

  /** Outline the nodes a finding is about (cleared with the next selection). */
  markFinding(ids) {
    for (const id of ids) this.elements.get(id)?.classList.add("jv-concerned");
  }

  /** Give exactly the drawn ``ids`` CSS class ``name`` (a comparison's partners, or its
   *  boxes with none). */
  flag(name, ids) {
    this.clear([name]);
    for (const id of ids) this.elements.get(id)?.classList.add(name);
  }

  /** Mark search matches (drawn ids) and the current one. */
  mark(ids, current) {
    this.clear(["jv-match", "jv-current"]);
    for (const id of ids) this.elements.get(id)?.classList.add("jv-match");
    this.elements.get(current)?.classList.add("jv-current");
  }

  clear(classes = HIGHLIGHTS) {
    for (const el of this.svg.querySelectorAll("." + classes.join(", ."))) {
      el.classList.remove(...classes);
    }
  }
}

function push(map, key, value) {
  if (!map.has(key)) map.set(key, []);
  map.get(key).push(value);
}
