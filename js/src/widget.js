// The anywidget entry point (bundled to jaxviz/static/widget.js, loaded by TraceWidget and
// CompareWidget: a comparison's model has a "left" side).
import { createApp } from "./app.js";
import { createCompare } from "./compare.js";
import { unpacking } from "./packed.js";

export default {
  async render({ model, el }) {
    const app = model.get("left") === undefined
      ? createApp(el, await unpacking(model))
      : createCompare(el, model);
    return () => app.destroy();
  },
};
