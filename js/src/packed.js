// The widget's drawing travels deflated, in base64: TraceWidget packs its svg trait
// (jaxviz/display/widget.py), as the static pages pack their data, so a big model's SVG
// weighs a fifth in every message and in the saved notebook. unpacking() stands in for
// anywidget's model and gives the app the drawing inflated. A change reaches the app only
// once its drawing is inflated, and the kernel's answers wait behind it: the app never sees
// a new node index with the old drawing, nor a request done before its drawing is there.

/** ``data`` (base64 of zlib-deflated text) inflated. */
export function inflate(data) {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"))).text();
}

/** An SVG trait's text ("" and plain SVG, as a static page has them, pass through). */
const drawing = (value) => (value && !value.startsWith("<") ? inflate(value) : value ?? "");

/** ``model`` with its svg trait inflated; resolves once the first drawing is. */
export async function unpacking(model) {
  let packed = model.get("svg");
  let svg = await drawing(packed);
  let queue = Promise.resolve();
  const listeners = new Map(); // (event, listener) -> the listener given to the model
  const inTurn = (listener, before) => (...args) => {
    queue = queue.then(async () => {
      await before?.();
      listener(...args);
    }).catch((error) => console.error("jaxviz:", error));
  };
  const inflateNew = async () => {
    const now = model.get("svg");
    if (now !== packed) [packed, svg] = [now, await drawing(now)];
  };
  return {
    get: (key) => (key === "svg" ? svg : model.get(key)),
    set: (key, value) => model.set(key, value),
    on(event, listener) {
      const wrapped = inTurn(listener, event === "change" ? inflateNew : null);
      listeners.set(listener, wrapped);
      model.on(event, wrapped);
    },
    off(event, listener) {
      model.off(event, listeners.get(listener));
      listeners.delete(listener);
    },
    ...(typeof model.send === "function" && { send: (...args) => model.send(...args) }),
  };
}
