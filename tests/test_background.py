"""Lowering, compiling, timing and the HLO view in the background (``jaxviz.trace(...,
background=True)``, what ``%%jaxtrace`` does when someone is watching): the first picture
once traced, the rest filling in, nothing blocked, nothing left running."""

import threading

import jax
import jax.numpy as jnp
import pytest

import jaxviz
from jaxviz import background, timing
from jaxviz.display.state import COMPILING, trace_state, view_state
from jaxviz.display.widget import TraceWidget


def unrolled(W, x):
    unused = jnp.sin(x)  # dead code: its finding needs the compile to be done
    for _ in range(5):
        x = jnp.tanh(x @ W)
    return x.sum()


ARGS = (jnp.ones((16, 16)), jnp.ones((4, 16)))


@pytest.fixture
def held():
    """The worker thread kept busy by a job that waits for ``held.set()``: whatever is
    submitted after it is still to come."""
    gate = threading.Event()
    background.submit(lambda check: gate.wait(30))
    yield gate
    gate.set()
    assert background.wait_all(60)


def no_worker_left():
    return not [t for t in threading.enumerate() if t.name == "jaxviz-background"]


def test_the_jaxpr_side_is_there_at_once_and_the_rest_waits_for_the_compile(held):
    t = jaxviz.trace(unrolled, *ARGS, background=True)
    assert not t.ready and t.waiting == {"compile"}
    assert t.progress == {"compile": "lowering and compiling…"}
    assert t.jaxpr is not None and t.graph("jaxpr", linked=False).find(kind="op")
    early = [f.kind for f in t.findings_so_far]
    assert "unrolled-loop" in early and "removed-by-xla" not in early  # dead code needs the compile
    assert t.dead_nodes == frozenset() and not t.linked
    assert "lowering and compiling…" in repr(t)

    state = trace_state(t)
    assert state["views"] == {"jaxpr": None, "hlo": COMPILING}
    assert state["header"]["cost"] == "" and "compiling" in state["header"]["stages"]
    assert view_state(t, "jaxpr")["links_slow"]  # the details offer links, not ask at once

    held.set()
    assert t.hlo_text.startswith("HloModule")  # waits for the compile
    assert t.ready and not t.waiting and set(t.durations) == {"trace", "lower", "compile"}
    assert "removed-by-xla" in [f.kind for f in t.findings]
    assert t.dead_nodes and t.cost["flops"] > 0
    assert t.graph("hlo").find(kind="op")


def test_waiting_for_a_job_that_has_not_started_runs_it_here(held):
    t = jaxviz.trace(unrolled, *ARGS, background=True)
    main = threading.current_thread()
    ran_in = []
    job = background.submit(lambda check: ran_in.append(threading.current_thread()) or 7)
    assert t.wait() is t and t.ready  # ran here, ahead of the held worker
    assert job.result() == 7 and ran_in == [main]


def test_a_compile_error_in_the_background_is_kept_with_the_jaxpr():
    def calls_missing_kernel(x):
        return jax.ffi.ffi_call("jaxviz_no_such_target", jax.ShapeDtypeStruct(x.shape, x.dtype))(x)

    t = jaxviz.trace(calls_missing_kernel, jnp.ones(2), background=True).wait()
    assert set(t.errors) == {"compile"} and "jaxviz_no_such_target" in t.errors["compile"]
    assert [f.severity for f in t.findings][0] == "error"
    assert trace_state(t)["views"]["hlo"].startswith("No HLO graph: the compile stage failed")
    assert t.progress == {}
    assert background.wait_all(30) and no_worker_left()


def test_a_yielding_job_waits_while_a_cell_runs_and_starts_again_if_one_starts():
    attempts = []
    started = threading.Event()
    release = threading.Event()

    def step(check):
        attempts.append(1)
        started.set()
        release.wait(30)
        check()  # raises when a cell started meanwhile
        return len(attempts)

    background.busy()  # a cell runs
    job = background.submit(step, yields=True)
    assert not started.wait(0.3) and not attempts  # it waits for the cell
    background.idle()
    assert started.wait(10)
    background.busy()  # another cell starts while it runs: it must run again
    release.set()
    background.idle()
    assert background.wait_all(30) and no_worker_left()
    assert job.result() == 2 and len(attempts) == 2


def test_someone_waiting_for_a_yielding_job_lets_it_run_while_busy():
    background.busy()
    try:
        job = background.submit(lambda check: (check(), "measured")[1], yields=True)
        assert job.result(30) == "measured"  # not stuck behind the cell that waits for it
    finally:
        background.idle()
    assert background.wait_all(30)


def test_measuring_gives_way_when_its_check_says_so():
    def check():
        raise background.Interrupted

    with timing.yielding(check), pytest.raises(background.Interrupted):
        timing.run_calls(lambda: jnp.ones(2), 1)
    assert timing.run_calls(lambda: jnp.ones(2), 1) > 0  # outside, nothing checks


def test_timing_and_the_hlo_view_in_the_background_fill_the_widget_in(held):
    t = jaxviz.trace(unrolled, *ARGS, background=True)
    t.time_in_background(budget=0.05)
    t.prepare_in_background()
    assert t.waiting == {"compile", "time", "hlo"}
    widget = TraceWidget(t)
    assert widget.views["hlo"] == COMPILING and widget.timing is None
    assert widget.progress["time"].startswith("timing eager vs jit")
    first_svg = widget.svg

    held.set()
    assert background.wait_all(60) and no_worker_left()
    # Without a kernel the watchers are told in the worker thread, as each job ends.
    assert not t.waiting and widget.progress == {}
    assert widget.views["hlo"] is None and widget.header["cost"]
    assert widget.timing["jit"]["best"] > 0 and t.timing.jit.best > 0
    assert "removed-by-xla" in [f["kind"] for f in widget.findings]
    assert widget.svg != first_svg  # the dead code is drawn dimmed now
    assert "hlo" in t._graphs  # prepared: opening the tab parses nothing, lays out nothing
    laid_out = []
    t._layouters["hlo"].layout = laid_out.append
    opened = view_state(t, "hlo")
    assert opened["svg"].startswith("<svg") and opened["nodes"] and not laid_out
    # Kept only while what it shows is the same: another expansion is laid out anew.
    assert view_state(t, "jaxpr", expand="all")["expanded"] != view_state(t, "jaxpr")["expanded"]


def test_lowering_waits_for_the_cell_that_traced_to_end():
    """Lowering holds the GIL: it starts once the cell that shows the first picture ends."""
    background.busy()  # the %%jaxtrace cell runs
    try:
        t = jaxviz.trace(unrolled, *ARGS, background=True)
        t.graph("jaxpr", linked=False)
        assert not background.wait_all(0.5) and "lower" not in t.durations
    finally:
        background.idle()  # the cell ends
    assert background.wait_all(60) and t.ready and "compile" in t.durations


def test_a_trace_that_fails_leaves_no_background_work():
    t = jaxviz.trace(lambda x: x.undefined, jnp.ones(2), background=True)
    assert t.ready and not t.waiting and "trace" in t.errors
    t.time_in_background()
    assert background.wait_all(30)
    assert t.timing is None and t.progress == {}
