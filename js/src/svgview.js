// Shows one Graphviz drawing in a viewport: drag to pan, wheel or buttons to zoom, fit to view.
// d3-zoom does the gestures (mouse, wheel, trackpad pinch, touch) and tells a drag from a click.
import { select } from "d3-selection";
import { zoom, zoomIdentity, zoomTransform } from "d3-zoom";

const SVG_NS = "http://www.w3.org/2000/svg";
const PAD = 16;
/** Fitting never magnifies a small graph past this. */
const MAX_FIT = 1.25;

export class SvgView {
  /** ``wheelZooms(event)`` says whether a wheel turn zooms (else the page scrolls on). */
  constructor(viewport, wheelZooms) {
    this.viewport = viewport;
    this.canvas = document.createElementNS(SVG_NS, "svg");
    this.canvas.setAttribute("class", "jv-canvas");
    this.layer = document.createElementNS(SVG_NS, "g");
    this.canvas.append(this.layer);
    viewport.append(this.canvas);
    this.drawing = null;
    // Until the user pans or zooms, the view keeps fitting itself (the output may be laid out,
    // shown or resized after the drawing arrives).
    this.autoFit = true;
    this.zoom = zoom()
      .scaleExtent([0.02, 8])
      .filter((event) => (event.type === "wheel" ? wheelZooms(event) : !event.ctrlKey && !event.button))
      .on("zoom", (event) => {
        this.layer.setAttribute("transform", event.transform);
        if (event.sourceEvent) this.autoFit = false;
      });
    select(viewport).call(this.zoom).on("dblclick.zoom", null);
    this.resizes = new ResizeObserver(() => this.autoFit && this.fit());
    this.resizes.observe(viewport);
  }

  /** Parse Graphviz's SVG text and show it; returns the drawing's <svg> element. */
  show(svgText) {
    const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
    if (doc.querySelector("parsererror") || doc.documentElement.nodeName !== "svg") {
      throw new Error("the drawing is not valid SVG");
    }
    this.drawing = document.importNode(doc.documentElement, true);
    this.layer.replaceChildren(this.drawing);
    return this.drawing;
  }

  /** The drawing's size in screen pixels at scale 1 (Graphviz gives it in points). */
  size() {
    if (!this.drawing) return { width: 0, height: 0 };
    return { width: this.drawing.width.baseVal.value, height: this.drawing.height.baseVal.value };
  }

  /** A viewport height that shows the whole drawing when fitted to the width, within limits. */
  fittingHeight(min = 160, max = 560) {
    const { width, height } = this.size();
    const vw = this.viewport.clientWidth || 800;
    const k = Math.min(MAX_FIT, (vw - 2 * PAD) / width);
    return Math.round(Math.min(max, Math.max(min, height * k + 2 * PAD)));
  }

  fit() {
    const { width, height } = this.size();
    const vw = this.viewport.clientWidth;
    const vh = this.viewport.clientHeight;
    if (!width || !height || !vw || !vh) return;
    const k = Math.min(MAX_FIT, (vw - 2 * PAD) / width, (vh - 2 * PAD) / height);
    const t = zoomIdentity.translate((vw - width * k) / 2, (vh - height * k) / 2).scale(k);
    select(this.viewport).call(this.zoom.transform, t);
    this.autoFit = true;
  }

  zoomBy(factor) {
    select(this.viewport).call(this.zoom.scaleBy, factor);
    this.autoFit = false;
  }

  scale() {
    return zoomTransform(this.viewport).k;
  }

  /** Where an element's centre is on screen, relative to the viewport. */
  screenCenter(el) {
    const r = el.getBoundingClientRect();
    const v = this.viewport.getBoundingClientRect();
    return { x: r.left + r.width / 2 - v.left, y: r.top + r.height / 2 - v.top };
  }

  /** Pan (and zoom in if the drawing is tiny) so that an element is in the middle. */
  center(el) {
    if (this.scale() < 0.5) {
      const p = this.screenCenter(el);
      select(this.viewport).call(this.zoom.scaleTo, 0.8, [p.x, p.y]);
    }
    const p = this.screenCenter(el);
    this.moveBy(this.viewport.clientWidth / 2 - p.x, this.viewport.clientHeight / 2 - p.y);
  }

  /** Pan so that an element is back where it was on screen (``before``, from screenCenter). */
  keepInPlace(el, before) {
    const p = this.screenCenter(el);
    this.moveBy(before.x - p.x, before.y - p.y);
  }

  moveBy(dx, dy) {
    const k = this.scale();
    select(this.viewport).call(this.zoom.translateBy, dx / k, dy / k);
    this.autoFit = false;
  }

  destroy() {
    this.resizes.disconnect();
    select(this.viewport).on(".zoom", null);
  }
}
