// Requests to the Python side of the widget (jaxviz/display/widget.py).
//
// Data flows one way: Python sets the traits, the browser draws them. To change something
// (open a group, switch view, make a PDF) the browser sends {type, id, ...}; Python answers
// {type: "busy", id} at once and {type: "done", id, error?} (or "pdf" with the file as a
// buffer) when it has finished. Without a "busy" in NO_ANSWER_MS, no kernel is listening:
// a notebook reopened without running it, or an exported page.

const NO_ANSWER_MS = 5000;
export const NO_KERNEL = "Expanding and re-drawing need a running kernel (this page opens its structure groups one at a time): run the cell to get the live view.";

export class Kernel {
  /** ``status(text, kind)`` shows progress; kind is "busy", "warn" or "error". */
  constructor(model, status) {
    this.model = model;
    this.status = status;
    this.live = LIVE && typeof model.send === "function";
    this.pending = new Map();
    this.prefix = Math.random().toString(36).slice(2, 8); // one output may be shown twice
    this.count = 0;
    this.onMessage = (msg, buffers) => this.receive(msg, buffers);
    if (this.live) model.on("msg:custom", this.onMessage);
  }

  /** Whether ``request`` can be answered: by Python, or by a static page that carries it. */
  canAnswer(request) {
    return this.live || Boolean(this.model.canAnswer?.(request));
  }

  /** Send a request; resolves with {msg, buffers} when Python is done. */
  ask(request, busyText) {
    if (LIVE && this.live) {
      const id = `${this.prefix}-${++this.count}`;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => this.status(`No answer from the kernel yet. ${NO_KERNEL}`, "warn"), NO_ANSWER_MS);
        this.pending.set(id, { resolve, reject, timer, busyText });
        this.status(busyText, "busy");
        this.model.send({ ...request, id });
      });
    }
    if (this.canAnswer(request)) return this.model.answer(request);
    this.status(NO_KERNEL, "warn");
    return Promise.reject(new Error(NO_KERNEL));
  }

  receive(msg, buffers) {
    if (!LIVE) return;
    const request = this.pending.get(msg?.id);
    if (!request) return;
    clearTimeout(request.timer);
    if (msg.type === "busy") {
      this.status(request.busyText, "busy");
      return;
    }
    this.pending.delete(msg.id);
    if (msg.error) {
      this.status(msg.error, "error");
      request.reject(new Error(msg.error));
      return;
    }
    if (this.pending.size === 0) this.status("", "");
    request.resolve({ msg, buffers });
  }

  destroy() {
    if (this.live) this.model.off("msg:custom", this.onMessage);
    for (const request of this.pending.values()) clearTimeout(request.timer);
  }
}
