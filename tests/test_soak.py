"""The magic run 200 times in one kernel: memory and registered listeners stay bounded."""

import json

import nbclient
import nbformat
import pytest

pytestmark = pytest.mark.kernel

SETUP = """
%load_ext jaxviz
import gc, json, logging, os
import jax, jax.numpy as jnp
from jax._src import monitoring
W, b, x = jnp.ones((4, 2)), jnp.ones(2), jnp.ones(4)
def fn(W, b, x):
    return jnp.tanh(x @ W + b)
def state():
    gc.collect()
    listeners = sum(len(getattr(monitoring, name)) for name in dir(monitoring)
                    if name.endswith("_listeners") and isinstance(getattr(monitoring, name), list))
    filters = sum(len(logging.getLogger(n).filters) for n in
                  ("jax._src.interpreters.partial_eval", "jax._src.pjit"))
    with open("/proc/self/statm") as statm:  # resident pages now (not the peak)
        rss_kb = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    return {"rss_kb": rss_kb,
            "listeners": listeners, "filters": filters,
            "explain": jax.config.jax_explain_cache_misses}
"""
RUN = "%%jaxtrace -b 0\nfn(W, b, x);\n"


def test_two_hundred_runs(tmp_path):
    nb = nbformat.v4.new_notebook()
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=600,
                                     resources={"metadata": {"path": str(tmp_path)}})

    def run(source):
        cell = nbformat.v4.new_code_cell(source)
        nb.cells.append(cell)
        client.execute_cell(cell, len(nb.cells) - 1)
        return cell

    def state():
        cell = run("print(json.dumps(state()))")
        return json.loads(cell.outputs[0]["text"])

    with client.setup_kernel():
        run(SETUP)
        for _ in range(20):  # warm up: first imports, caches, listeners registered once
            run(RUN)
        early = state()
        for _ in range(180):
            cell = run(RUN)
            nb.cells.clear()  # keep the client's copy of outputs small
        late = state()
    assert late["listeners"] == early["listeners"]
    assert late["filters"] == early["filters"] == 0
    assert late["explain"] is False
    grown_mb = (late["rss_kb"] - early["rss_kb"]) / 1024
    assert grown_mb < 150, f"peak memory grew by {grown_mb:.0f} MB over 180 runs"
