"""jaxviz: see what JAX does to your Python function, in a notebook.

    %load_ext jaxviz          # then %%jaxtrace on a cell, or:
    t = jaxviz.trace(fn, *args)
    jaxviz.compare(t, jaxviz.trace(other_fn, *args))   # or %jaxcompare f(x) g(x)
"""

from jaxviz.compare import Comparison, compare
from jaxviz.findings import Finding
from jaxviz.memory import Buffer, PeakMemory
from jaxviz.model import Edge, Graph, Node, SourceLoc
from jaxviz.profiling import OpTime, Profile
from jaxviz.timing import Measurement, Timing
from jaxviz.trace import Trace, trace

__all__ = ["Buffer", "Comparison", "Edge", "Finding", "Graph", "Measurement", "Node", "OpTime",
           "PeakMemory", "Profile", "SourceLoc", "Timing", "Trace", "compare", "trace"]
__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext jaxviz``: registers ``%%jaxtrace``, ``%jaxtrace``, ``%%jaxcompare`` and
    ``%jaxcompare``."""
    from jaxviz.magics import JaxTraceMagics, JaxViz, cell_ends, cell_starts

    settings = next((c for c in ipython.configurables if isinstance(c, JaxViz)), None)
    if settings is None:  # loading twice must not register the settings twice
        settings = JaxViz(parent=ipython)
        ipython.configurables.append(settings)
    ipython.register_magics(JaxTraceMagics(ipython, settings))
    for event, hook in (("pre_run_cell", cell_starts), ("post_run_cell", cell_ends)):
        if hook not in ipython.events.callbacks[event]:
            ipython.events.register(event, hook)


def unload_ipython_extension(ipython) -> None:
    """``%unload_ext jaxviz``: the cell hooks go (the cell running now counts as ended);
    the magics stay, as IPython leaves them."""
    from jaxviz.magics import cell_ends, cell_starts

    for event, hook in (("pre_run_cell", cell_starts), ("post_run_cell", cell_ends)):
        if hook in ipython.events.callbacks[event]:
            ipython.events.unregister(event, hook)
    cell_ends()
