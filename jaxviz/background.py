"""Work done after the first picture, while the user reads: lowering and compiling, timing,
preparing the HLO view.

One worker thread runs the jobs in order, and ends when none is left: nothing stays behind.
XLA releases the GIL while it compiles, so a compile costs a cell run meanwhile little. A job
that holds the GIL (``yields=True``: timing, building graphs) starts only while no cell runs,
and a timing job checks between runs that none started (the ``check`` each job's step is
handed): it is then measured again once the kernel is idle, so neither slows the other. The magics tell this
module when a cell starts and ends (IPython's ``pre_run_cell`` / ``post_run_cell``), and the
widget while it answers the browser (:func:`foreground`).

Someone who needs a job's result now (``Job.result``) runs it in their own thread if it has
not started, or lets it run at once if it is waiting for the kernel to be idle.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections import deque
from typing import Any, Callable, Iterator


class Interrupted(Exception):
    """A cell started while a yielding job ran: the job runs again when the kernel is idle."""


#: What a job's step is given: a check to call between pieces of its work, which raises
#: :class:`Interrupted` when the step should stop and run again later.
Check = Callable[[], None]


class Job:
    """One piece of background work; its result, or the exception it raised, once done."""

    def __init__(self, step: Callable[[Check], Any], yields: bool,
                 on_done: Callable[[], None] | None = None):
        self.step: Callable[[Check], Any] | None = step
        self.yields = yields
        self.on_done = on_done
        #: Someone waits for it: it no longer gives way to the kernel.
        self.urgent = False
        self._started = False
        self._done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> Any:
        """The job's result (its exception re-raised), run here when it has not started."""
        self.urgent = True
        if _claim(self):
            self._run(_no_check)
        else:
            _wake.set()
            if not self._done.wait(timeout):
                raise TimeoutError("the background work did not finish in time")
        if self._error is not None:
            raise self._error
        return self._result

    def _run(self, check: Check) -> bool:
        """Run the step; False when it was interrupted (to run again)."""
        try:
            self._result = self.step(check)
        except Interrupted:
            return False
        except BaseException as exc:  # kept for whoever asks for the result
            self._error = exc
        self.step = None  # it may hold the whole program (JAX's Traced)
        self._done.set()
        if self.on_done is not None:
            self.on_done()
        return True


_lock = threading.Lock()
_jobs: deque[Job] = deque()
_worker: threading.Thread | None = None
#: Set while no cell runs and no request of the browser is answered.
_idle = threading.Event()
_idle.set()
#: Wakes a yielding job that waits for the kernel to be idle (idle again, or made urgent).
_wake = threading.Event()
_busy_count = 0
#: Counts the cells and requests started: a yielding job compares it before and after.
_starts = 0
#: Python is exiting: what has not started is dropped, a yielding job stops at its check.
_closing = threading.Event()
#: Seconds Python's exit waits for the job running (a compile cannot be stopped; a thread
#: still inside XLA when the interpreter goes down aborts the process).
EXIT_WAIT = 60.0


def submit(step: Callable[[Check], Any], yields: bool = False,
           on_done: Callable[[], None] | None = None) -> Job:
    """Run ``step(check)`` in the worker thread after the jobs already queued, then
    ``on_done()``; a yielding job starts only while the kernel is idle, and ``check()``
    raises :class:`Interrupted` once a cell has started since (a job that does not yield
    gets a check that never does)."""
    global _worker
    job = Job(step, yields, on_done)
    with _lock:
        _jobs.append(job)
        if _worker is None:
            _worker = threading.Thread(target=_work, name="jaxviz-background", daemon=True)
            _worker.start()
    return job


def _claim(job: Job) -> bool:
    """Take ``job`` out of the queue to run it in this thread (False: it has started)."""
    with _lock:
        if job._started:
            return False
        job._started = True
        if job in _jobs:
            _jobs.remove(job)
        return True


def _work() -> None:
    global _worker
    while True:
        with _lock:
            if not _jobs:
                _worker = None
                return
            job = _jobs.popleft()
            job._started = True
        while not job._run(_check_for(job) if job.yields else _no_check):
            if _closing.is_set():
                break


def _no_check() -> None:
    """The check of a job that does not give way."""


def _check_for(job: Job) -> Check:
    """Wait until the kernel is idle (or someone waits for the job); the check then raises
    once a cell or request has started since."""
    while not job.urgent and not _idle.is_set() and not _closing.is_set():
        _wake.wait(0.5)
        _wake.clear()
    since = _starts

    def check() -> None:
        if _closing.is_set() or not job.urgent and (_starts != since or not _idle.is_set()):
            raise Interrupted

    return check


def busy() -> None:
    """A cell (or a request of the browser) starts: yielding jobs wait."""
    global _busy_count, _starts
    with _lock:
        _busy_count += 1
        _starts += 1
        _idle.clear()


def idle() -> None:
    """It ended: yielding jobs may run when nothing else is busy."""
    global _busy_count
    with _lock:
        _busy_count = max(_busy_count - 1, 0)
        if _busy_count == 0:
            _idle.set()
            _wake.set()


@contextlib.contextmanager
def foreground() -> Iterator[None]:
    """The kernel is busy for the user inside (a request of the browser is answered)."""
    busy()
    try:
        yield
    finally:
        idle()


def wait_all(timeout: float | None = None) -> bool:
    """Wait until every job is done (False: ``timeout`` seconds passed first)."""
    worker = _worker
    if worker is not None:
        worker.join(timeout)
    return _worker is None


def on_main_thread(fn: Callable[[], None]) -> None:
    """Call ``fn`` in the kernel's own thread, between the messages it handles (a widget's
    traits are set there, never while it answers the browser); with no kernel, here."""
    from IPython import get_ipython

    loop = getattr(getattr(get_ipython(), "kernel", None), "io_loop", None)
    if loop is None:
        fn()
    else:
        loop.add_callback(fn)


@atexit.register
def _at_exit() -> None:
    """Python is exiting: drop the jobs not started, and wait for the one running."""
    _closing.set()
    _wake.set()
    with _lock:
        _jobs.clear()
    wait_all(EXIT_WAIT)
