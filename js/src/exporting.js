// Downloads of the drawing: SVG as Graphviz wrote it (the same file Trace.export writes), PNG
// rendered here in the browser. PDF comes from Python (see graph.js).
import { download } from "./dom.js";

/** Canvas limits that every current browser accepts. */
const MAX_SIDE = 16384;
const MAX_PIXELS = 64e6;

export function downloadSvg(svgText, name) {
  download(new Blob([svgText], { type: "image/svg+xml" }), `${name}.svg`);
}

/** Render the SVG into a canvas at ``scale`` (less if the result would be too big). */
export async function downloadPng(svgText, name, scale = 2) {
  const img = new Image();
  img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svgText);
  await img.decode();
  const w = img.naturalWidth;
  const h = img.naturalHeight;
  const k = Math.min(scale, MAX_SIDE / w, MAX_SIDE / h, Math.sqrt(MAX_PIXELS / (w * h)));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(w * k));
  canvas.height = Math.max(1, Math.round(h * k));
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff"; // Graphviz draws on a transparent background
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  download(blob, `${name}.png`);
}
