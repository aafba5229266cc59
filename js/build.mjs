// Bundles the widget into ../jaxviz/static (run by `npm run build`, and by hatch_build.py when
// the Python package is built):
//   widget.js  ES module that anywidget loads in notebooks
//   page.js    plain script for static pages (the .html export, notebooks shown without a kernel)
//   compare-page.js  the same for a comparison's static page
// package.json pins d3-interpolate 3.0.1: later releases ship one pre-bundled file that
// esbuild cannot tree-shake (d3-zoom needs only interpolateZoom; the rest is ~15 KB).
import * as esbuild from "esbuild";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));

// CSS is imported as a minified string; the app puts it in a <style> inside its own element.
const cssAsText = {
  name: "css-as-text",
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async ({ path }) => {
      const { code } = await esbuild.transform(await readFile(path, "utf8"), { loader: "css", minify: true });
      return { contents: code, loader: "text" };
    });
  },
};

const common = {
  bundle: true,
  minify: true,
  target: "es2022",
  legalComments: "none",
  plugins: [cssAsText],
  alias: { "d3-transition": here("./src/no-transition.js") },
  logLevel: "warning",
};

// LIVE: whether the bundle runs beside a kernel. The static pages' bundles leave out what
// only a kernel answers (every kilobyte there is a kilobyte fewer for their layouts).
const live = { define: { LIVE: "true" } };
const page = { define: { LIVE: "false" }, format: "iife", globalName: "jaxvizStatic" };
await esbuild.build({ ...common, ...live, entryPoints: [here("./src/widget.js")], format: "esm", outfile: here("../jaxviz/static/widget.js") });
await esbuild.build({ ...common, ...page, entryPoints: [here("./src/page.js")], outfile: here("../jaxviz/static/page.js") });
await esbuild.build({ ...common, ...page, entryPoints: [here("./src/compare-page.js")], outfile: here("../jaxviz/static/compare-page.js") });
