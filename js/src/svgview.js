// Shows one Graphviz drawing in a viewport: drag to pan, wheel or buttons to zoom, fit to view.
// d3-zoom does the gestures (mouse, wheel, trackpad pinch, touch) and tells a drag from a click.
import { select } from "d3-selection";
import { zoom, zoomIdentity, zoomTransform } from "d3-zoom";

const SVG_NS = "http://www.w3.org/2000/svg";
const PAD = 16;
/** Fitting never magnifies a small graph past this. */
const MAX_FIT = 1.25;
/** The first picture draws node labels at least this tall (CSS px), fitted or not. */
const READABLE_PX = 11.5;
/** Fewer boxes than this seen whole beside the inputs: the first picture starts where the
 *  groups at the top begin instead, if more are seen there. */
const FEW_SEEN = 6;
/** The viewport's height: what the first picture needs, within these. */
const MIN_HEIGHT = 160;
const MAX_HEIGHT = 600;
/** The overview's largest side (px). */
const OVERVIEW_PX = 150;
let drawings = 0;

export class SvgView {
  /** ``wheelZooms(event)`` says whether a wheel turn zooms (else the page scrolls on);
   * ``moved(transform)`` hears where the user panned or zoomed to. */
  constructor(viewport, wheelZooms, moved = () => {}) {
    this.viewport = viewport;
    this.canvas = document.createElementNS(SVG_NS, "svg");
    this.canvas.setAttribute("class", "jv-canvas");
    this.layer = document.createElementNS(SVG_NS, "g");
    this.canvas.append(this.layer);
    viewport.append(this.canvas);
    this.drawing = null;
    this.anchors = [];
    // Until the user pans or zooms, the view keeps its first picture (the output may be laid
    // out, shown or resized after the drawing arrives): ``start`` or ``fit``, whichever ran.
    this.auto = "start";
    this.overview = new Overview(viewport, (x, y) => this.lookAt(x, y));
    this.zoom = zoom()
      .scaleExtent([0.02, 8])
      .filter((event) => (event.type === "wheel" ? wheelZooms(event) : !event.ctrlKey && !event.button))
      .on("zoom", (event) => {
        this.layer.setAttribute("transform", event.transform);
        if (event.sourceEvent) {
          this.auto = null;
          moved(event.transform);
        }
        this.overview.update(event.transform, this.size(), this.viewport);
      });
    select(viewport).call(this.zoom).on("dblclick.zoom", null);
    this.resizes = new ResizeObserver(() => this.auto && this[this.auto]());
    this.resizes.observe(viewport);
  }

  /** Parse Graphviz's SVG text and show it; returns the drawing's <svg> element. */
  show(svgText) {
    const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
    if (doc.querySelector("parsererror") || doc.documentElement.nodeName !== "svg") {
      throw new Error("the drawing is not valid SVG");
    }
    this.drawing = document.importNode(doc.documentElement, true);
    this.drawing.id = `jv-drawing-${++drawings}`;
    this.layer.replaceChildren(this.drawing);
    this.overview.show(this.drawing, this.size());
    return this.drawing;
  }

  /** The drawing's size in screen pixels at scale 1 (Graphviz gives it in points). */
  size() {
    if (!this.drawing) return { width: 0, height: 0 };
    return { width: this.drawing.width.baseVal.value, height: this.drawing.height.baseVal.value };
  }

  /** How tall node labels are on screen at scale 1 (Graphviz gives font sizes in points). */
  labelPx() {
    const size = parseFloat(this.drawing?.querySelector("g.node text")?.getAttribute("font-size")) || 11;
    const box = this.drawing?.viewBox?.baseVal;
    return size * (box && box.width ? this.size().width / box.width : 4 / 3);
  }

  /** The first picture's scale: the whole drawing where its labels are readable so; else
   *  readable, and as much of its width as fits. */
  startScale(vw, vh) {
    const { width, height } = this.size();
    const readable = READABLE_PX / this.labelPx();
    const across = Math.min(MAX_FIT, (vw - 2 * PAD) / width);
    const whole = Math.min(across, (vh - 2 * PAD) / height);
    return whole >= readable ? { k: whole, whole: true } : { k: Math.min(MAX_FIT, Math.max(readable, across)), whole: false };
  }

  /** A viewport height that shows the first picture, within limits. */
  fittingHeight() {
    const { height } = this.size();
    if (!height) return MIN_HEIGHT;
    const { k } = this.startScale(this.viewport.clientWidth || 800, Infinity);
    return Math.round(Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, height * k + 2 * PAD)));
  }

  /** The first picture: the whole drawing if readable; else readable labels, from the top
   *  (the inputs), the ``anchors`` (the inputs' elements) in the middle across, or as far
   *  right as keeps them in view and shows where the groups at the top begin. */
  start(anchors = this.anchors) {
    this.anchors = anchors;
    const { width, height } = this.size();
    const vw = this.viewport.clientWidth;
    const vh = this.viewport.clientHeight;
    if (!width || !height || !vw || !vh) return;
    const { k, whole } = this.startScale(vw, vh);
    if (whole) {
      this.fit();
      this.auto = "start";
      return;
    }
    let x = (vw - width * k) / 2;
    if (width * k > vw - 2 * PAD) {
      this.setTransform(zoomIdentity.scale(k));
      // The inputs on the top row (Graphviz puts an input used late beside its user).
      const all = anchors.filter((el) => el.isConnected).map((el) => el.getBoundingClientRect());
      const top = Math.min(...all.map((b) => b.top));
      const boxes = all.filter((b) => b.top <= top + 40 * k);
      const v = this.viewport.getBoundingClientRect();
      const middle = boxes.length
        ? (Math.min(...boxes.map((b) => b.left)) + Math.max(...boxes.map((b) => b.right))) / 2 - v.left
        : width * k / 2;
      x = vw / 2 - middle;
      // Then show where the groups open at the top begin (their titles), as far as every
      // box seen whole stays so.
      const near = (selector) => [...this.drawing.querySelectorAll(selector)]
        .map((g) => g.getBoundingClientRect()).filter((b) => b.top - v.top < vh)
        .map((b) => ({ left: b.left - v.left, right: b.right - v.left }));
      const nodes = near("g.node");
      const lefts = near("g.cluster").map((b) => b.left);
      const within = (shift) => Math.min(PAD, Math.max(vw - PAD - width * k, shift));
      const seen = (shift) => nodes.filter((b) => b.left + shift >= 0 && b.right + shift <= vw);
      if (lefts.length) {
        const toGroups = PAD - Math.min(...lefts);
        if (toGroups > x) {
          const room = vw - PAD - Math.max(PAD, ...seen(x).map((b) => b.right + x));
          x += Math.max(0, Math.min(toGroups - x, room));
        }
        // Inputs far from the work they feed (XLA's view of a train step puts them in a
        // corner): where a group at the top begins, the one showing the most, if more is
        // to be read there than beside them (lm1b's outer groups begin in empty space).
        const beside = seen(within(x)).length;
        if (beside < FEW_SEEN) {
          const best = lefts.map((left) => within(PAD - left))
            .reduce((a, b) => (seen(b).length > seen(a).length ? b : a), within(toGroups));
          if (seen(best).length > beside) x = best;
        }
      }
      x = within(x);
    }
    this.setTransform(zoomIdentity.translate(x, PAD).scale(k));
    this.auto = "start";
  }

  fit() {
    const { width, height } = this.size();
    const vw = this.viewport.clientWidth;
    const vh = this.viewport.clientHeight;
    if (!width || !height || !vw || !vh) return;
    const k = Math.min(MAX_FIT, (vw - 2 * PAD) / width, (vh - 2 * PAD) / height);
    this.setTransform(zoomIdentity.translate((vw - width * k) / 2, (vh - height * k) / 2).scale(k));
    this.auto = "fit";
  }

  /** Back where the user left an earlier drawing of the same output. */
  restore({ x, y, k }) {
    this.setTransform(zoomIdentity.translate(x, y).scale(k));
    this.auto = null;
  }

  setTransform(t) {
    select(this.viewport).call(this.zoom.transform, t);
  }

  /** Centre the view on a point of the drawing (px at scale 1). */
  lookAt(x, y) {
    const k = this.scale();
    this.setTransform(zoomIdentity.translate(this.viewport.clientWidth / 2 - x * k,
                                             this.viewport.clientHeight / 2 - y * k).scale(k));
    this.auto = null;
  }

  zoomBy(factor) {
    select(this.viewport).call(this.zoom.scaleBy, factor);
    this.auto = null;
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
    this.auto = null;
  }

  destroy() {
    this.resizes.disconnect();
    select(this.viewport).on(".zoom", null);
  }
}

/** A small picture of the whole drawing in a corner, the part in view outlined; shown while
 *  the drawing does not fit the view. Click or drag in it to look there. */
class Overview {
  constructor(viewport, lookAt) {
    this.el = document.createElementNS(SVG_NS, "svg");
    this.el.setAttribute("class", "jv-overview");
    this.el.setAttribute("aria-label", "overview: where the view is in the whole graph");
    this.picture = document.createElementNS(SVG_NS, "use");
    this.frame = document.createElementNS(SVG_NS, "rect");
    this.frame.setAttribute("class", "jv-overview-frame");
    this.el.append(this.picture, this.frame);
    this.el.style.display = "none";
    viewport.append(this.el);
    const look = (event) => {
      const r = this.el.getBoundingClientRect();
      lookAt((event.clientX - r.left) / this.k, (event.clientY - r.top) / this.k);
    };
    // The viewport pans on drag: the overview's own pointer events stop there.
    this.el.addEventListener("pointerdown", (event) => {
      event.stopPropagation();
      this.el.setPointerCapture(event.pointerId);
      look(event);
    });
    this.el.addEventListener("pointermove", (event) => {
      if (this.el.hasPointerCapture(event.pointerId)) look(event);
    });
    for (const type of ["mousedown", "click", "wheel", "dblclick"]) {
      this.el.addEventListener(type, (event) => event.stopPropagation());
    }
    this.k = 1;
  }

  show(drawing, { width, height }) {
    this.k = width && height ? Math.min(OVERVIEW_PX / width, OVERVIEW_PX / height) : 1;
    this.el.setAttribute("width", Math.round(width * this.k));
    this.el.setAttribute("height", Math.round(height * this.k));
    this.picture.setAttribute("href", `#${drawing.id}`);
    this.picture.setAttribute("transform", `scale(${this.k})`);
  }

  /** Outline the part in view; hide while all of the drawing is in view. */
  update(t, { width, height }, viewport) {
    const vw = viewport.clientWidth;
    const vh = viewport.clientHeight;
    const x0 = -t.x / t.k;
    const y0 = -t.y / t.k;
    const x1 = x0 + vw / t.k;
    const y1 = y0 + vh / t.k;
    const all = x0 <= 0.5 && y0 <= 0.5 && x1 >= width - 0.5 && y1 >= height - 0.5;
    this.el.style.display = all || !width ? "none" : "";
    const clip = (v, max) => Math.min(max, Math.max(0, v));
    this.frame.setAttribute("x", clip(x0, width) * this.k);
    this.frame.setAttribute("y", clip(y0, height) * this.k);
    this.frame.setAttribute("width", (clip(x1, width) - clip(x0, width)) * this.k);
    this.frame.setAttribute("height", (clip(y1, height) - clip(y0, height)) * this.k);
  }
}
