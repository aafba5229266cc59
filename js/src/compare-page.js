// The entry point for a comparison's static page (bundled to jaxviz/static/compare-page.js as
// the global ``jaxvizStatic``, as page.js is: jaxviz/display/html.py's loader calls mount). A
// bundle of its own, so that a trace's static output does not carry the comparison's code.
import { createCompare } from "./compare.js";

/** Replace the static block ``box`` by the interactive view of ``state`` (a CompareWidget's
 *  traits, both drawings included); nothing can be re-laid out without a kernel. */
export function mount(box, state) {
  const app = document.createElement("div");
  box.replaceChildren(app);
  createCompare(app, { get: (trait) => state[trait], on: () => {}, off: () => {} });
}
