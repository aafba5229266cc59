"""``%%jaxtrace`` and ``%jaxtrace``: run a cell as usual, then show what JAX does to its last call;
``%%jaxcompare`` and ``%jaxcompare``: the same for two calls, compared (``jaxviz.compare``).

The cell is compiled through IPython's own cache, with the ``%%jaxtrace`` line kept as a
comment on line 1, so tracebacks, JAX source lines and findings all use the line numbers the
user sees in the cell. The magic never changes the namespace beyond what the cell does
itself (and ``-o NAME``), and reports errors as one line: a cell that shows an expected error
must not stop "run all", so only misuse of the magic raises (as a one-line UsageError).
"""

from __future__ import annotations

import argparse
import ast
import keyword
import sys
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Callable

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, arg_split, magic_arguments
from IPython.display import display
from traitlets import Bool, Float
from traitlets.config import Configurable

import jaxviz
from jaxviz import background
from jaxviz.analysis import recompile
from jaxviz.display.widget import show_filling_in
from jaxviz.export import FORMATS
from jaxviz.formatting import cell_name, place

NO_CALL = ("no call to trace: end the cell with a call such as `fn(x)` or give one: "
           "%%jaxtrace fn(x)")
NO_PAIR = ("%jaxcompare needs two calls, as in %jaxcompare f(x) g(x); a %%jaxcompare cell "
           "without them compares the calls on its last two lines")
#: Name the arguments of CALL are passed to, in a private locals dict (never the user's).
_CAPTURE = "__jaxviz_capture__"


# -- option values -------------------------------------------------------------------------

def _argnums(text: str) -> tuple[int, ...]:
    """``1``, ``0,2``, ``(0, 2)`` or ``[0, 2]`` -> a tuple of ints."""
    parts = [p.strip() for p in text.strip().strip("()[]").split(",") if p.strip()]
    try:
        return tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected argument positions such as 1 or 0,2, not {text!r}") from None


def _argnames(text: str) -> tuple[str, ...]:
    """``n`` or ``a,b`` -> a tuple of parameter names."""
    parts = text.strip().strip("()[]").split(",")
    names = tuple(p.strip().strip("'\"") for p in parts if p.strip())
    if not names or not all(n.isidentifier() for n in names):
        raise argparse.ArgumentTypeError(f"expected parameter names such as n or a,b, not {text!r}")
    return names


def _expand(text: str) -> str | int:
    """``all``, ``none`` or a non-negative depth: which groups of the graph start open."""
    if text in ("all", "none"):
        return text
    if text.isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"expected all, none or a depth such as 1, not {text!r}")


def _budget(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds such as 2, not {text!r}")
    return seconds


def _export_path(text: str) -> str:
    if not text.lower().endswith(FORMATS):
        raise argparse.ArgumentTypeError(
            f"cannot export to {text!r}: use a file name ending in {', '.join(FORMATS)}")
    return text


def _variable_name(text: str) -> str:
    if not text.isidentifier() or keyword.iskeyword(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid Python variable name")
    return text


# -- the magic line ------------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """A parsed magic line: the CALL text (None: the cell's last call) and the options."""

    call: str | None
    options: argparse.Namespace
    #: The line magic's CALL ended with ';': return nothing, as IPython does for expressions.
    silent: bool = False


def parse_request(parser: argparse.ArgumentParser, line: str) -> Request:
    """Split ``[options] [CALL] [options]``: options go before or after CALL.

    CALL is Python (spaces, quotes, commas), so it is not shell-split: the split is the
    leftmost start, then the longest CALL, where CALL parses as a call such as ``fn(x)`` and
    the words around it parse completely as options. ``fn(x) --no-time`` is a valid Python
    expression too (a subtraction), so CALL must be a call to count; a CALL that is Python
    but no call is refused by saying what it is.
    """
    line = line.strip()
    starts, ends = _word_bounds(line)
    options = _parse_options(parser, line)
    if options is not None:
        return Request(None, options)
    for wanted in (_is_call, _is_expression):
        for start in starts:
            if _parse_options(parser, line[:start]) is None:
                continue
            for end in reversed([e for e in ends if e > start]):
                call = line[start:end].strip()
                silent = call.endswith(";") and end == len(line)
                call = call.rstrip(";").rstrip() if silent else call
                if call.startswith("-") or not wanted(call):
                    continue
                options = _parse_options(parser, line[:start] + " " + line[end:])
                if options is not None:
                    return Request(call, options, silent)
    # No split works: let argparse name the bad option, else the CALL is not Python.
    raise UsageError(f"CALL is not a Python call such as fn(x): {_leftover(parser, line)!r}")


def parse_call_pair(parser: argparse.ArgumentParser, line: str
                    ) -> tuple[tuple[str, str] | None, argparse.Namespace, bool]:
    """Split ``[options] CALL_A CALL_B [options]`` as :func:`parse_request` splits one CALL:
    (the two calls or None when there are none, the options, whether it ended with ';')."""
    line = line.strip()
    options = _parse_options(parser, line)
    if options is not None:
        return None, options, False
    starts, ends = _word_bounds(line)
    for start in starts:
        if _parse_options(parser, line[:start]) is None:
            continue
        for middle in (e for e in ends if e > start and _is_call(line[start:e])):
            second = next((i for i in starts if i > middle), None)
            if second is None:
                continue
            for end in reversed([e for e in ends if e > second]):
                call = line[second:end].strip()
                silent = call.endswith(";") and end == len(line)
                call = call.rstrip(";").rstrip() if silent else call
                if not _is_call(call):
                    continue
                options = _parse_options(parser, line[:start] + " " + line[end:])
                if options is not None:
                    return (line[start:middle], call), options, silent
    # No split works: let argparse name a bad option, else say what two calls look like.
    raise UsageError(f"{NO_PAIR} (got {_leftover(parser, line)!r})")


def _leftover(parser: argparse.ArgumentParser, line: str) -> str:
    """What of a line that splits no way is not options (argparse raises at a bad option)."""
    try:
        options = parser.parse_args(_option_words(line))
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"cannot read {line!r}: {exc}") from None
    return " ".join(options.call)


def _word_bounds(line: str) -> tuple[list[int], list[int]]:
    """Where the words of ``line`` start, and where they end."""
    starts = [0, *(i for i in range(1, len(line))
                   if line[i - 1].isspace() and not line[i].isspace())]
    ends = [*(i for i in range(1, len(line)) if line[i].isspace() and not line[i - 1].isspace()),
            len(line)]
    return starts, ends


def _parse_options(parser: argparse.ArgumentParser, text: str) -> argparse.Namespace | None:
    """The options in ``text``, or None when it is not made of options only."""
    try:
        options = parser.parse_args(_option_words(text))
    except (UsageError, ValueError):
        return None
    return None if options.call else options


def _option_words(text: str) -> list[str]:
    """Shell-like words, unquoted, with ``(0, 2)`` kept as one word."""
    words: list[str] = []
    for word in arg_split(text):  # posix=False: backslashes in Windows paths survive
        if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
            word = word[1:-1]
        if words and words[-1].count("(") > words[-1].count(")"):
            words[-1] += " " + word
        else:
            words.append(word)
    return words


def _is_expression(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):  # ValueError: a null byte
        return False
    return True


def _is_call(text: str) -> bool:
    return _is_expression(text) and isinstance(ast.parse(text, mode="eval").body, ast.Call)


#: What a CALL that is Python but no call is, in words.
_WHAT = {ast.Name: "a name", ast.Attribute: "an attribute", ast.Constant: "a constant",
         ast.BinOp: "an arithmetic expression", ast.UnaryOp: "an arithmetic expression",
         ast.Subscript: "an index", ast.Compare: "a comparison", ast.BoolOp: "a logical "
         "expression", ast.Lambda: "a lambda", ast.Tuple: "a tuple", ast.List: "a list",
         ast.Dict: "a dict"}


def _parse_call(text: str) -> ast.Call:
    node = ast.parse(text, mode="eval").body
    if not isinstance(node, ast.Call):
        what = _WHAT.get(type(node), f"a {type(node).__name__} expression")
        hint = f": call it, e.g. {text}(x)" if isinstance(node, (ast.Name, ast.Attribute)) else ""
        raise UsageError(f"CALL must be a call such as fn(x), but `{text}` is {what}{hint}")
    return node


# -- the magic -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _CellRun:
    """A cell run by a magic: the calls to trace, the value the cell shows (None: none), the
    cache misses while it ran."""

    calls: list[tuple[Callable, tuple, dict]]
    shown: Any
    cache_misses: list
    #: The calls as written.
    written: list[ast.Call]

class JaxViz(Configurable):
    """Session-wide defaults of the magics: ``%config JaxViz.budget = 1``."""

    time = Bool(True, help="time eager vs jit after tracing (the --no-time option turns it "
                           "off for one cell)").tag(config=True)
    background = Bool(None, allow_none=True, help=(
        "%%jaxtrace shows its first picture once traced, then lowers, compiles, times and "
        "prepares the HLO view in the background, filling the output in (a cell run "
        "meanwhile is not blocked). None: when someone is watching, in a frontend that can "
        "answer input(); nbconvert and papermill, which save outputs as each cell ends, "
        "wait for everything")).tag(config=True)
    budget = Float(3.0, min=0.0, help="default -b/--budget: seconds of steady-state "
                                      "timing").tag(config=True)


def _tracing_options(magic: Callable) -> Callable:
    """The options %jaxtrace and %jaxcompare share: static arguments, exports, timing,
    tracebacks."""
    for option in reversed([
        argument("-s", "--static-argnums", type=_argnums, metavar="ARGNUMS",
                 help="positions of static arguments: 1, 0,2 or (0, 2)"),
        argument("--static-argnames", type=_argnames, metavar="NAMES",
                 help="names of static arguments: n or a,b"),
        argument("-e", "--export", type=_export_path, action="append", default=[],
                 metavar="PATH", help="also write the graph to PATH (.svg .png .pdf .dot "
                                      ".html); repeatable"),
        argument("--no-time", dest="time", action="store_false",
                 help="skip timing eager vs jit (timing runs the function many times)"),
        argument("-b", "--budget", type=_budget, metavar="SECONDS",
                 help="seconds of steady-state timing (default: %%config JaxViz.budget, 3); "
                      "the first call's compile and one warm-up call come on top"),
        argument("--traceback", action="store_true",
                 help="show the full traceback of an error instead of one line"),
    ]):
        magic = option(magic)
    return magic


@magics_class
class JaxTraceMagics(Magics):
    """``%%jaxtrace`` and ``%%jaxcompare`` (cell), ``%jaxtrace`` and ``%jaxcompare`` (line)."""

    def __init__(self, shell: Any, settings: JaxViz):
        super().__init__(shell)
        self.settings = settings

    @no_var_expand  # CALL is Python: {..} and $x must reach it untouched
    @magic_arguments()
    @_tracing_options
    @argument("-p", "--profile", action="store_true",
              help="profile the ops: where each call's time goes, and what is live at the "
                   "memory peak, on both graphs (runs the function under JAX's profiler)")
    @argument("-x", "--expand", type=_expand, metavar="all|none|DEPTH",
              help="which groups of the exported graph are open")
    @argument("-o", "--output", type=_variable_name, metavar="NAME",
              help="store the jaxviz.Trace in the variable NAME")
    @argument("call", nargs="*", metavar="CALL",
              help="the call to trace, e.g. fn(W, x); in a cell, defaults to the cell's "
                   "last expression")
    @line_cell_magic
    def jaxtrace(self, line: str, cell: str | None = None) -> Any:
        """Trace, lower and compile a call as jax.jit would, and show what JAX did to it.

        Cell:  %%jaxtrace [options] [CALL]  runs the cell as usual (its output and value are
        unchanged), then traces CALL, by default the cell's last expression when it is a
        call such as fn(x).
        Line:  %jaxtrace [options] CALL  traces CALL and returns the jaxviz.Trace
        (t = %jaxtrace fn(x)).
        """
        request = parse_request(self.jaxtrace.parser, line)
        self._apply_settings(request.options)
        if cell is None:
            return self._trace_line(request)
        return self._trace_cell(request, line, cell)

    @no_var_expand
    @magic_arguments()
    @_tracing_options
    @argument("-o", "--output", type=_variable_name, metavar="NAME",
              help="store the jaxviz.Comparison in the variable NAME")
    @argument("call", nargs="*", metavar="CALL",
              help="the two calls to compare, e.g. f(x) g(x); in a cell, default to the "
                   "cell's last two lines")
    @line_cell_magic
    def jaxcompare(self, line: str, cell: str | None = None) -> Any:
        """Trace two calls and compare them: which operations both run, which box of one
        graph is which box of the other, whether XLA compiles them to the same program.

        Line:  %jaxcompare [options] CALL_A CALL_B  returns the jaxviz.Comparison
        (c = %jaxcompare f(x) g(x)).
        Cell:  %%jaxcompare [options] [CALL_A CALL_B]  runs the cell as usual, then compares
        the two calls, by default the cell's last two lines (each a call such as f(x)).
        Options apply to both calls.
        """
        calls, options, silent = parse_call_pair(self.jaxcompare.parser, line)
        self._apply_settings(options)
        explicit = None if calls is None else [_parse_call(call) for call in calls]
        if cell is None:
            if explicit is None:
                raise UsageError(NO_PAIR)
            traced = [self._evaluate_call(call, "<jaxcompare CALL>") for call in explicit]
            comparison = self._compare(traced, options, [], _call_names(explicit))
            return None if silent or comparison is None else comparison
        run = self._run_cell("jaxcompare", line, cell, explicit, 2, options, NO_PAIR)
        if run is None:
            return None
        comparison = self._compare(run.calls, options, run.cache_misses, _call_names(run.written))
        if comparison is not None:
            display(comparison)
        return run.shown

    def _apply_settings(self, options: argparse.Namespace) -> None:
        """%config JaxViz: timing off for every cell, and the default budget."""
        options.time = options.time and self.settings.time
        if options.budget is None:
            options.budget = self.settings.budget

    def _compare(self, calls: list[tuple[Callable, tuple, dict]], options: argparse.Namespace,
                 cache_misses: list, names: tuple[str, str] | None) -> "jaxviz.Comparison | None":
        """Trace (and time) both calls and compare them, named ``names``; exports, then
        ``-o NAME``."""
        traces = []
        for fn, args, kwargs in calls:
            result = self._trace(fn, args, kwargs, options)
            if result is None:
                return None
            result.cache_misses = cache_misses
            _time(result, options)
            _print_errors(result)
            traces.append(result)
        comparison = jaxviz.compare(*traces, names=names)
        self._finish(comparison, options, "jaxcompare")
        return comparison

    # -- line ------------------------------------------------------------------------------

    def _trace_line(self, request: Request) -> jaxviz.Trace | None:
        if request.call is None:
            raise UsageError("no call to trace: %jaxtrace fn(x)")
        fn, args, kwargs = self._evaluate_call(_parse_call(request.call), "<jaxtrace CALL>")
        result = self._trace(fn, args, kwargs, request.options)
        if result is None:
            return None
        _time(result, request.options)
        _profile(result, request.options)
        _print_errors(result)
        self._finish(result, request.options, expand=request.options.expand)
        return None if request.silent else result

    # -- cell ------------------------------------------------------------------------------

    def _trace_cell(self, request: Request, line: str, cell: str) -> Any:
        explicit = [_parse_call(request.call)] if request.call is not None else None
        run = self._run_cell("jaxtrace", line, cell, explicit, 1, request.options, NO_CALL)
        if run is None:
            return None
        (fn, args, kwargs), = run.calls
        later = self._in_background(request.options)
        result = self._trace(fn, args, kwargs, request.options, later)
        if result is None:
            return run.shown
        result.cache_misses = run.cache_misses
        if later:
            if request.options.time:
                result.time_in_background(request.options.budget)
            result.prepare_in_background()
            show_filling_in(result)
            if request.options.export:  # exports hold everything: the cell waits for it
                result.wait()
        else:
            _time(result, request.options)
            _profile(result, request.options)
            display(result)
        _print_errors(result)
        self._finish(result, request.options, expand=request.options.expand)
        return run.shown

    def _in_background(self, options: argparse.Namespace) -> bool:
        """Whether the cell's trace compiles (and is timed) in the background: as set, else
        when a person is watching (the request allows input(): a notebook frontend, not
        nbconvert or papermill). Profiling waits for everything."""
        if options.profile:
            return False
        if self.settings.background is not None:
            return self.settings.background
        kernel = getattr(self.shell, "kernel", None)
        if kernel is None:
            return False
        return bool(kernel.get_parent().get("content", {}).get("allow_stdin"))

    def _run_cell(self, magic: str, line: str, cell: str, explicit: list[ast.Call] | None,
                  count: int, options: argparse.Namespace, no_calls: str) -> "_CellRun | None":
        """Run the cell as IPython would, the ``%%magic line`` kept as a comment on line 1.
        The calls to trace are ``explicit``, else the cell's last ``count`` statements, which
        must be calls: each one's parts are evaluated once, then called as the cell calls
        them. None when the cell failed (the error is reported)."""
        source = f"# %%{magic} {line.strip()}\n" + self.shell.transform_cell(cell)
        fname = self.shell.compile.cache(source, self._cell_number(), raw_code=source)
        try:
            module = ast.parse(source, filename=fname)
        except SyntaxError as exc:
            self._report(exc, fname, options.traceback)
            return None
        if explicit is None:  # misuse is refused before any of the cell runs
            tail = module.body[len(module.body) - count:]
            if len(tail) < count or not all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                                            for s in tail):
                raise UsageError(no_calls)
            statements, last, calls = module.body[:-count], tail[-1].value, [s.value for s in tail]
        else:
            (statements, last), calls = _split_last_expression(module), []

        traced: list[tuple[Callable, tuple, dict]] = []
        value = None
        named = explicit if explicit is not None else calls
        with recompile.watch_cache_misses() as cache_misses:
            try:
                self._exec(statements, fname)
                if explicit is not None and last is not None:
                    value = self._eval(last, fname)
            except Exception as exc:
                self._report(exc, fname, options.traceback)
                return None
            for call in calls:  # evaluate each call's parts once: called, then traced
                try:
                    fn, args, kwargs = self._evaluate_parts(call, fname)
                except Exception as exc:
                    self._report(exc, fname, options.traceback)
                    return None
                _require_callable(fn, call)
                try:
                    value = fn(*args, **kwargs)  # the cell's own call, as without the magic
                except Exception as exc:
                    result = self._report_failed_call(exc, fn, args, kwargs, fname, options)
                    if result is not None and magic == "jaxtrace":
                        self._finish(result, options, expand=options.expand)
                    return None
                traced.append((fn, args, kwargs))
        if explicit is not None:
            traced = [self._evaluate_call(call, fname) for call in explicit]
        shown = None if _ends_with_semicolon(source, last) else value
        return _CellRun(traced, shown, cache_misses, named)

    def _cell_number(self) -> int:
        """N of the running cell's In[N], so the cell's code is named as IPython names it.

        ``execution_count`` is already the next number while a cell runs (IPython 9), so
        the number is read off the frame of the cell's own code, which IPython compiled."""
        frame = sys._getframe(1)
        while frame is not None:
            number = cell_name(frame.f_code.co_filename)
            if number is not None and number[3:-1].isdigit():  # "In[7]"
                return int(number[3:-1])
            frame = frame.f_back
        return self.shell.execution_count

    def _report_failed_call(self, exc: Exception, fn: Callable, args: tuple, kwargs: dict,
                            fname: str, options: argparse.Namespace) -> jaxviz.Trace | None:
        """The traced call itself raised: show jaxviz's finding (with its fix), not JAX's
        essay. Returns the trace of the call (None if jaxviz could not trace it)."""
        result = self._trace(fn, args, kwargs, options)
        errors = [f for f in result.findings if f.severity == "error"] if result else []
        if options.traceback or not errors:
            self._report(exc, fname, options.traceback)
        for finding in errors:
            print(f"jaxtrace: {finding}", file=sys.stderr)
        return result

    # -- running the user's code -----------------------------------------------------------

    def _exec(self, statements: list[ast.stmt], fname: str) -> None:
        exec(compile(ast.Module(statements, type_ignores=[]), fname, "exec"), self.shell.user_ns)

    def _eval(self, node: ast.expr, fname: str, extra: dict[str, Any] | None = None) -> Any:
        """Evaluate in the user namespace; ``extra`` names live in a separate locals dict."""
        code = compile(ast.fix_missing_locations(ast.Expression(node)), fname, "eval")
        return eval(code, self.shell.user_ns, extra)

    def _evaluate_parts(self, call: ast.Call, fname: str) -> tuple[Any, tuple, dict]:
        """The callee, positional and keyword arguments of ``call``, as Python would pass them.

        The arguments go through ``__jaxviz_capture__(<the call's arguments>)`` so *args,
        **kwargs and keywords behave exactly as in the call, and the user's namespace gains
        nothing.
        """
        fn = self._eval(call.func, fname)
        capture = ast.copy_location(
            ast.Call(func=ast.Name(_CAPTURE, ast.Load()), args=call.args, keywords=call.keywords),
            call,
        )
        args, kwargs = self._eval(capture, fname, {_CAPTURE: lambda *a, **k: (a, k)})
        return fn, args, kwargs

    def _evaluate_call(self, call: ast.Call, fname: str) -> tuple[Callable, tuple, dict]:
        """An explicit CALL's parts; any failure is misuse of the magic (a UsageError)."""
        try:
            fn, args, kwargs = self._evaluate_parts(call, fname)
        except Exception as exc:
            raise UsageError(
                f"cannot evaluate CALL `{ast.unparse(call)}`: {type(exc).__name__}: {exc}"
            ) from None
        _require_callable(fn, call)
        return fn, args, kwargs

    # -- tracing and what follows ----------------------------------------------------------

    def _trace(self, fn: Callable, args: tuple, kwargs: dict, options: argparse.Namespace,
               later: bool = False) -> jaxviz.Trace | None:
        """``jaxviz.trace`` (``later``: lowering and compiling in the background)."""
        try:
            return jaxviz.trace(fn, *args, static_argnums=options.static_argnums,
                                static_argnames=options.static_argnames, background=later,
                                **kwargs)
        except Exception as exc:  # jaxviz itself refused (e.g. a jit with shardings)
            print(f"jaxtrace: cannot trace {_name(fn)}: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            return None

    def _finish(self, result: "jaxviz.Trace | jaxviz.Comparison", options: argparse.Namespace,
                magic: str = "jaxtrace", **export: Any) -> None:
        """Exports (``export``: their options), then ``-o NAME``: the only change the magic
        itself makes to the namespace."""
        for path in options.export:
            try:
                result.export(path, **export)
            except Exception as exc:
                print(f"{magic}: could not export to {path}: {exc}", file=sys.stderr)
        if options.output:
            self.shell.user_ns[options.output] = result

    def _report(self, exc: BaseException, fname: str, full: bool) -> None:
        """An error in the cell: IPython's traceback (from the cell's frames on), or one line."""
        if full:
            self.shell.showtraceback((type(exc), exc, _from_cell(exc.__traceback__, fname)))
            return
        line = _cell_line(exc, fname)
        where = f"{place(fname, line)}: " if line is not None else ""
        message = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
        if isinstance(exc, SyntaxError):
            message = exc.msg
        text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        print(f"jaxtrace: {where}{text} (add --traceback for the full traceback)",
              file=sys.stderr)


# -- small helpers -------------------------------------------------------------------------

def _call_names(calls: list[ast.Call]) -> tuple[str, str] | None:
    """What a comparison calls its sides: the callees as written (``predict_vmap``,
    ``jax.vmap(predict)``), or the whole calls when the callee is the same; None when the
    calls are the same text too."""
    for text in (lambda call: ast.unparse(call.func), ast.unparse):
        names = tuple(text(call) for call in calls)
        if names[0] != names[1]:
            return names
    return None


def _require_callable(fn: Any, call: ast.Call) -> None:
    if not callable(fn):
        raise UsageError(
            f"cannot trace `{ast.unparse(call.func)}`: it is a {type(fn).__name__}, not a function")


def _time(result: jaxviz.Trace, options: argparse.Namespace) -> None:
    """Eager vs jit timing, unless turned off or the program does not compile."""
    if not options.time or result.errors:
        return
    try:
        result.time(budget=options.budget)
    except Exception as exc:  # the rest of the output still shows
        print(f"jaxtrace: timing failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def _profile(result: jaxviz.Trace, options: argparse.Namespace) -> None:
    """The per-op profile and the memory peak, when asked for and the program compiles."""
    if not options.profile or result.errors:
        return
    for what, step in (("profiling", result.profile), ("the memory peak", result.peak_memory)):
        try:
            step()
        except Exception as exc:  # the rest of the output still shows
            print(f"jaxtrace: {what} failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def _print_errors(result: jaxviz.Trace) -> None:
    """Error findings also go to stderr, one line each: visible even where HTML is not
    (those known now: a compile in the background shows its error in the output)."""
    for finding in result.findings_so_far:
        if finding.severity == "error":
            print(f"jaxtrace: {str(finding).splitlines()[0]}", file=sys.stderr)


def _split_last_expression(module: ast.Module) -> tuple[list[ast.stmt], ast.expr | None]:
    """The statements to exec, and the final expression whose value the cell shows (if any)."""
    if module.body and isinstance(module.body[-1], ast.Expr):
        return module.body[:-1], module.body[-1].value
    return module.body, None


def _ends_with_semicolon(source: str, last_value: ast.expr | None) -> bool:
    """``fn(x);`` as the cell's last line hides Out[n], as it does without the magic."""
    if last_value is None:
        return False
    lines = source.splitlines()
    rest = lines[last_value.end_lineno - 1][last_value.end_col_offset:]
    rest += "\n".join(lines[last_value.end_lineno:])
    return rest.lstrip().startswith(";")


def _cell_line(exc: BaseException, fname: str) -> int | None:
    if isinstance(exc, SyntaxError):
        return exc.lineno if exc.filename == fname else None
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == fname:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _from_cell(tb: TracebackType | None, fname: str) -> TracebackType | None:
    """The traceback without the magic's own frames: it starts where the cell's code does."""
    start = tb
    while start is not None and start.tb_frame.f_code.co_filename != fname:
        start = start.tb_next
    return start or tb


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def cell_starts(_info: Any = None) -> None:
    """IPython's ``pre_run_cell``: background work gives way while the cell runs."""
    background.busy()


def cell_ends(_result: Any = None) -> None:
    """IPython's ``post_run_cell``."""
    background.idle()
