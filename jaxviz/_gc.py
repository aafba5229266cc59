"""Pausing Python's cyclic garbage collector around allocation-heavy or timed work."""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No cyclic garbage collection inside; the collector's state is restored after.

    Timing loops pause it as ``timeit`` does. Graph building pauses it because it allocates
    a few small objects per equation while the program holds millions more: each full
    collection walks them all, which made building a 100k-equation graph up to twice as
    slow and its time erratic (nothing built there is cyclic garbage). The HLO view (parse,
    build, link) likewise: the 128-layer block's took 1.4 s with collections, 0.8 s without.
    JAX's tracing and lowering too: with earlier traces alive, tracing the 128-layer block
    took 0.42–0.58 s with collections, 0.26–0.30 s without. And the displays' node index (an
    entry or more per node): the 128-layer block's static view took 0.22 s, 0.13 s without.
    The findings (what outputs need, per node): a 30k-equation chain's took 0.05–0.14 s.
    And a notebook output (widget state, static view): one full collection in a session
    holding big programs added 0.3 s to a 10k-equation chain's.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
