"""jaxviz: see what JAX does to your Python function, in a notebook.

    %load_ext jaxviz          # then %%jaxtrace on a cell, or:
    t = jaxviz.trace(fn, *args)
"""

from jaxviz.findings import Finding
from jaxviz.model import Edge, Graph, Node, SourceLoc
from jaxviz.trace import Trace, trace

__all__ = ["Edge", "Finding", "Graph", "Node", "SourceLoc", "Trace", "trace"]
__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext jaxviz``: registers ``%%jaxtrace`` and ``%jaxtrace``."""
    from jaxviz.magics import JaxTraceMagics

    ipython.register_magics(JaxTraceMagics)
