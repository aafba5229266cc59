"""Program structure, in the user's words, for both views: unrolled loops and per-leaf
repeats, passes and modules, library calls, which code is the user's, and the HLO view's copy
of it all (mirror.py)."""

#: Group ops that are the user's program structure: named scopes, modules and passes
#: (``scope``), folded Python loops (``unrolled``, ``parallel``) and their iterations
#: (``iteration``, the ``alike`` rest), and a library called from one line (``library``).
STRUCTURE_OPS = frozenset({"scope", "unrolled", "parallel", "alike", "iteration", "library"})
