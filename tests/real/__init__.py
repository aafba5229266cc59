"""A corpus of real programs, each adapted from a public example (named in its docstring),
with small shapes, random inits and no downloads. Lines a finding must point at carry a
``# expect: <kind>`` comment; ``tests/test_real.py`` checks jaxviz on every program."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

#: (module, program name, CPU devices it needs) of every corpus program: listed here, so
#: that listing them builds no model.
CORPUS = [
    ("gpt_train_step", "gpt_train_step", 1), ("lm1b_linen", "lm1b_linen", 1),
    ("flax_vae", "flax_vae", 1), ("nnx_mnist", "nnx_mnist", 1),
    ("equinox_mlp", "equinox_filter_jit", 1), ("equinox_mlp", "equinox_module_argument", 1),
    ("equinox_stateful", "equinox_stateful", 1), ("scan_rnn", "scan_rnn", 1),
    ("diffusion_sampler", "diffusion_python_loop", 1),
    ("diffusion_sampler", "diffusion_fori_loop", 1), ("dp_sgd", "dp_sgd", 1),
    ("flash_attention", "flash_attention", 1), ("captured_key", "captured_key", 1),
    ("mnist_vae", "mnist_vae", 1), ("spmd_mnist", "spmd_mnist", 8),
]


@dataclass
class Program:
    name: str
    fn: Callable
    args: tuple
    kwargs: dict = field(default_factory=dict)
    static_argnums: tuple[int, ...] | None = None
    #: The finding kinds expected at the module's ``# expect:`` lines (None: all of them).
    expects: tuple[str, ...] | None = None
    #: Structure groups both views must have, by label (``forward``, ``decoder``, ``iteration
    #: 2 · params['layers'][2]``, ``optax``), and one the default views must show open.
    groups: tuple[str, ...] = ()
    opens: str | None = None


def load(module: str) -> list[Program]:
    return importlib.import_module(f"real.{module}").programs()
