// The entry point for static pages (bundled to jaxviz/static/page.js as the global
// ``jaxvizStatic``): the .html export, and the notebook output where no kernel runs (nbconvert).
// jaxviz/display/html.py writes each trace as a <div> holding the drawing as inline SVG (seen
// even where scripts do not run; a big drawing travels packed in the data instead), then a
// small script (html.LOADER) that inflates this bundle and the data, both embedded deflated,
// runs the bundle and calls mount() with the data.
import { createApp } from "./app.js";
import { inflate } from "./packed.js";

/** What a layout is known by: its open groups. */
const key = (ids) => [...ids].sort().join(" ");

/** The view traits a precomputed layout replaces. */
const VIEW_TRAITS = ["svg", "expanded", "folded", "nodes", "hidden", "sources", "finding_nodes"];

/** A read-only model over the embedded data: no ``send``, so the app knows no kernel listens.
 *  The page carries the layouts of opening each structure group on its own (``layouts``:
 *  [open groups, packed view traits]); ``answer`` shows them as a kernel would. */
function staticModel(state) {
  const listeners = new Set();
  const first = Object.fromEntries(VIEW_TRAITS.map((trait) => [trait, state[trait]]));
  const layouts = new Map((state.layouts ?? []).map(([ids, packed]) => [key(ids), packed]));
  layouts.set(key(first.expanded), first);
  return {
    get: (trait) => state[trait],
    on: (event, listener) => event === "change" && listeners.add(listener),
    off: (event, listener) => listeners.delete(listener),
    /** Whether ``request`` can be answered here (a layout this page carries). */
    canAnswer: (request) => request.type === "expand" && Array.isArray(request.expand)
      && layouts.has(key(request.expand)),
    async answer(request) {
      const found = layouts.get(key(request.expand));
      Object.assign(state, typeof found === "string" ? unpacked(first, await inflate(found)) : found);
      for (const listener of listeners) listener();
      return { msg: { type: "done" }, buffers: [] };
    },
  };
}

/** A layout's traits: its drawing, and its node index made from the first drawing's and the
 *  ``changed`` edits (jaxviz/display/html.py _changes). */
function unpacked(first, text) {
  const { changed, ...traits } = JSON.parse(text);
  for (const [trait, edits] of Object.entries(changed)) {
    const old = first[trait];
    traits[trait] = Array.isArray(old)
      ? edits.flatMap((piece) => (Array.isArray(piece) ? old.slice(piece[0], piece[1]) : piece["+"]))
      : Object.assign(Object.fromEntries(Object.entries(old).filter(([id]) => !edits.drop.includes(id))), edits.set);
  }
  return traits;
}

/** Replace the static block ``box`` by the interactive view of ``state`` (the widget's traits). */
export function mount(box, state) {
  const svg = box.querySelector("svg");
  // Downloads serialize the drawing shown: Graphviz's SVG, as the .svg export has it.
  if (svg) state.svg = new XMLSerializer().serializeToString(svg);
  state.svg ??= "";
  const app = document.createElement("div");
  box.replaceChildren(app);
  createApp(app, staticModel(state));
}
