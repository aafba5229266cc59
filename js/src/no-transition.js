// Stands in for d3-transition, which d3-zoom imports only to animate zooms. jaxviz never
// animates (zoom duration 0, no double-click zoom), so this stub keeps ~25 KB of transition,
// colour and easing code out of the bundle. build.mjs aliases "d3-transition" to this file.
import { selection } from "d3-selection";

export function interrupt() {}

// d3-zoom calls selection.interrupt() before every zoom; with nothing animating, a no-op.
selection.prototype.interrupt = function () {
  return this;
};
