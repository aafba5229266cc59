// The anywidget entry point (bundled to jaxviz/static/widget.js, loaded by TraceWidget).
import { createApp } from "./app.js";

export default {
  render({ model, el }) {
    const app = createApp(el, model);
    return () => app.destroy();
  },
};
