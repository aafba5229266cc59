// The entry point for static pages (bundled to jaxviz/static/page.js as the global
// ``jaxvizStatic``): the .html export, and the notebook output where no kernel runs (nbconvert).
// jaxviz/display/html.py writes each trace as a <div> holding the drawing as inline SVG (seen
// even where scripts do not run), then a small script (html.LOADER) that inflates this bundle
// and the data, both embedded deflated, runs the bundle and calls mount() with the data.
import { createApp } from "./app.js";

/** A read-only model over the embedded data: no ``send``, so the app knows no kernel listens. */
function staticModel(state) {
  return { get: (key) => state[key], on() {}, off() {} };
}

/** Replace the static block ``box`` by the interactive view of ``state`` (the widget's traits). */
export function mount(box, state) {
  const svg = box.querySelector("svg");
  // Downloads serialize the drawing shown: Graphviz's SVG, as the .svg export has it.
  state.svg = svg ? new XMLSerializer().serializeToString(svg) : "";
  const app = document.createElement("div");
  box.replaceChildren(app);
  createApp(app, staticModel(state));
}
