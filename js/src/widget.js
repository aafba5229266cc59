// The anywidget entry point (bundled to jaxviz/static/widget.js, loaded by TraceWidget and
// CompareWidget: a comparison's model has a "left" side).
import { createApp } from "./app.js";
import { createCompare } from "./compare.js";

export default {
  render({ model, el }) {
    const app = (model.get("left") === undefined ? createApp : createCompare)(el, model);
    return () => app.destroy();
  },
};
