// Small DOM helpers. Every user-controlled string reaches the page as text (textContent),
// never as markup: that is what makes hostile function names, scopes and params harmless.

/**
 * Create an element: h("button", {class: "x", onclick: fn}, "text", child, ...).
 * Attributes starting with "on" become event listeners; strings become text nodes.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Save a Blob as a file through a temporary link (works in notebooks and static pages). */
export function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename, style: "display:none" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name from user text: letters, digits, "-", "_" and "." only. */
export function safeName(text) {
  return String(text).replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^[._]+/, "") || "jaxviz";
}
