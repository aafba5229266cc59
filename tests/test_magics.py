"""%%jaxtrace and %jaxtrace in a real kernel (ipykernel driven by nbclient), one kernel per module.

Cells run one at a time in a single kernel, like a user working down a notebook. The client
does not allow errors: a cell whose execution ends in an error fails the test unless it is
expected to (bad use of the magic raises a UsageError; nothing else may).
"""

import ast

import nbformat
import re

import pytest
from IPython.core.error import UsageError
from nbclient import NotebookClient

from jaxviz.magics import JaxTraceMagics, parse_call_pair, parse_request

pytestmark = pytest.mark.kernel

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Cell:
    """The outputs of one executed cell."""

    def __init__(self, cell):
        self.outputs = cell.outputs

    def stream(self, name):
        return "".join(o.text for o in self.outputs if o.output_type == "stream" and o.name == name)

    @property
    def stdout(self):
        return self.stream("stdout")

    @property
    def stderr(self):
        """What the kernel wrote to stderr, less Graphviz's fontconfig noise."""
        lines = self.stream("stderr").splitlines(keepends=True)
        return "".join(line for line in lines if not line.startswith("Fontconfig"))

    @property
    def value(self):
        """Out[n] as text, or None when the cell shows no value."""
        results = [o for o in self.outputs if o.output_type == "execute_result"]
        return results[0].data["text/plain"] if results else None

    @property
    def displays(self):
        return [o.data for o in self.outputs if o.output_type == "display_data"]

    @property
    def errors(self):
        return [o for o in self.outputs if o.output_type == "error"]


class Kernel:
    def __init__(self, client, nb, workdir):
        self.client, self.nb, self.workdir = client, nb, workdir

    def run(self, source, raises=False):
        cell = nbformat.v4.new_code_cell(source)
        if raises:
            cell.metadata["tags"] = ["raises-exception"]
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        return Cell(cell)

    def eval(self, expression):
        """The value of a Python literal expression evaluated in the kernel."""
        return ast.literal_eval(self.run(f"print(repr({expression}))").stdout)

    def names(self):
        return self.eval("sorted(k for k in globals() if not k.startswith('_'))")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kernel")
    nb = nbformat.v4.new_notebook()
    client = NotebookClient(nb, kernel_name="python3", timeout=180,
                            resources={"metadata": {"path": str(workdir)}})
    with client.setup_kernel():
        k = Kernel(client, nb, workdir)
        setup = k.run(
            "%load_ext jaxviz\n"
            "%config JaxViz.budget = 0.1\n"
            "import jax\n"
            "import jax.numpy as jnp\n"
            "from jax import lax\n"
            "W, b, x = jnp.ones((4, 2)), jnp.ones(2), jnp.ones(4)\n"
            "def fn(W, b, x):\n"
            "    return x @ W + b\n"
            "before = 42\n"
        )
        assert not setup.errors and not setup.stderr, setup.outputs
        yield k


def trace_displays(cell, fn_name):
    title = f"jaxviz.Trace of {fn_name}"
    return [d for d in cell.displays if d.get("text/plain", "").startswith(title)]


def jaxtrace_lines(cell):
    return [line for line in cell.stderr.splitlines() if line.startswith("jaxtrace:")]


# -- the magic line (no kernel needed) ------------------------------------------------------

def parse(line):
    return parse_request(JaxTraceMagics.jaxtrace.parser, line)


@pytest.mark.parametrize("line, call", [
    ("", None),
    ("fn(x)", "fn(x)"),
    ("  fn(x, 'a b', {'k': 1})  ", "fn(x, 'a b', {'k': 1})"),
    ("--traceback fn(x)", "fn(x)"),
    ("-o t -x all", None),
    ("-s 1 -e a.svg f(*xs, **kw)", "f(*xs, **kw)"),
    ("fn(W, b, x) -o tr", "fn(W, b, x)"),
    ("fn(x) --no-time", "fn(x)"),
    ("-s 1 fn(x, 'a -o b') -o t --traceback", "fn(x, 'a -o b')"),
    ("fn(x) - y", "fn(x) - y"),
])
def test_call_is_split_from_the_options(line, call):
    assert parse(line).call == call


def test_options_on_both_sides_of_the_call():
    request = parse("-s 1 fn(W, b, x) -o tr -x all")
    assert request.call == "fn(W, b, x)"
    options = request.options
    assert (options.static_argnums, options.output, options.expand) == ((1,), "tr", "all")
    assert parse("fn(x) --no-time").options.time is False


@pytest.mark.parametrize("text, expected", [
    ("fn", "`fn` is a name: call it, e.g. fn(x)"),
    ("model.apply", "`model.apply` is an attribute"),
    ("x + 1", "`x + 1` is an arithmetic expression"),
])
def test_a_call_that_is_no_call_says_what_it_is(text, expected):
    from jaxviz.magics import _parse_call

    assert parse(text).call == text
    with pytest.raises(UsageError, match=re.escape(expected)):
        _parse_call(text)


def test_option_values():
    options = parse("-s (0, 2) --static-argnames a,b -e 'my graph.svg' -e b.png -x 2 -o t "
                    "--traceback fn(x)").options
    assert options.static_argnums == (0, 2)
    assert options.static_argnames == ("a", "b")
    assert options.export == ["my graph.svg", "b.png"]
    assert (options.expand, options.output, options.traceback) == (2, "t", True)
    assert parse("-s 1 fn(x)").options.static_argnums == (1,)
    assert parse("--static-argnames n fn(x)").options.static_argnames == ("n",)
    assert parse("-x none fn(x)").options.expand == "none"
    defaults = parse("fn(x)").options
    assert (defaults.static_argnums, defaults.export, defaults.expand) == (None, [], None)


def test_trailing_semicolon_silences_the_line_magic():
    request = parse("fn(x);")
    assert (request.call, request.silent) == ("fn(x)", True)


@pytest.mark.parametrize("line, expected", [
    ("--bogus fn(x)", "unrecognized arguments: --bogus"),
    ("-s fn(x)", "argument positions"),
    ("fn(x", "not a Python call"),
    ("fn('x)", "not a Python call"),
    ('-e "a.svg fn(x)', "No closing quotation"),
])
def test_bad_lines_are_usage_errors(line, expected):
    with pytest.raises(UsageError, match=expected):
        parse(line)


# -- the extension -------------------------------------------------------------------------

def test_load_ext_registers_cell_and_line_magic_with_help(kernel):
    assert kernel.eval("'jaxtrace' in get_ipython().magics_manager.magics['cell']")
    assert kernel.eval("'jaxtrace' in get_ipython().magics_manager.magics['line']")
    doc = kernel.eval("get_ipython().find_cell_magic('jaxtrace').__doc__")
    for option in ("CALL", "--static-argnums", "--static-argnames", "--export", "--expand",
                   "--output", "--traceback"):
        assert option in doc


# -- tracing -------------------------------------------------------------------------------

def test_cell_runs_as_usual_and_its_last_call_is_traced(kernel):
    cell = kernel.run(
        "%%jaxtrace -o t_default\n"
        "def affine(W, b, x):\n"
        "    y = x @ W\n"
        "    return y + b\n"
        "print('hello')\n"
        "affine(W, b, x)\n"
    )
    assert cell.stdout == "hello\n"
    assert cell.value == "Array([5., 5.], dtype=float32)"
    assert len(trace_displays(cell, "affine")) == 1
    assert "text/html" in cell.displays[0]
    assert cell.stderr == "" and not cell.errors
    later = kernel.run("print(type(t_default).__name__, t_default.fn_name)")
    assert later.stdout == "Trace affine\n"


def test_jaxpr_source_lines_are_the_cell_lines(kernel):
    kernel.run(
        "%%jaxtrace -o t_lines\n"           # line 1
        "def lines(W, b, x):\n"             # line 2
        "    y = x @ W\n"                   # line 3
        "    z = jnp.tanh(y)\n"             # line 4
        "    return z + b\n"                # line 5
        "lines(W, b, x);\n"                 # line 6
    )
    found = kernel.eval(
        "sorted((n.op, n.source.line, n.source.code) for n in t_lines.graph().nodes.values() "
        "if n.source)"
    )
    assert found == [("add", 5, "return z + b"), ("dot_general", 3, "y = x @ W"),
                     ("tanh", 4, "z = jnp.tanh(y)")]


def test_trailing_semicolon_hides_the_value_not_the_trace(kernel):
    cell = kernel.run("%%jaxtrace\nfn(W, b, x);\n")
    assert cell.value is None
    assert len(trace_displays(cell, "fn")) == 1


def test_explicit_call_traces_it_and_the_cell_keeps_its_value(kernel):
    cell = kernel.run(
        "%%jaxtrace double(2.0)\n"
        "def double(v):\n"
        "    return v * 2\n"
        "seven = 7\n"
        "seven\n"
    )
    assert cell.value == "7"
    assert len(trace_displays(cell, "double")) == 1


def test_call_with_star_args_and_keywords(kernel):
    cell = kernel.run(
        "%%jaxtrace -o t_star fn(*parts[:2], x=parts[2])\n"
        "parts = [W, b, x]\n"
    )
    assert len(trace_displays(cell, "fn")) == 1 and not cell.stderr
    assert kernel.eval("[v.aval.shape for v in t_star.jaxpr.jaxpr.invars]") == [(4, 2), (2,), (4,)]


def test_default_call_evaluates_its_arguments_once(kernel):
    kernel.run(
        "%%jaxtrace\n"
        "calls = []\n"
        "def make():\n"
        "    calls.append(1)\n"
        "    return jnp.ones(3)\n"
        "jnp.sin(make());\n"
    )
    assert kernel.eval("len(calls)") == 1


def test_line_magic_returns_the_trace(kernel):
    cell = kernel.run("%jaxtrace fn(W, b, x)")
    assert cell.value.startswith("jaxviz.Trace of fn")
    kernel.run("t_line = %jaxtrace -o t_line_o fn(W, b, x)")
    assert kernel.eval("(type(t_line).__name__, t_line is t_line_o)") == ("Trace", True)


def test_exports_repeated(kernel):
    cell = kernel.run("%%jaxtrace -e out.svg --export out.png -e out.dot\nfn(W, b, x)\n")
    assert not cell.stderr
    svg = (kernel.workdir / "out.svg").read_bytes()
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    assert (kernel.workdir / "out.png").read_bytes().startswith(PNG_MAGIC)
    assert (kernel.workdir / "out.dot").read_text().startswith("digraph")


def test_expand_applies_to_exports(kernel):
    kernel.run(
        "def choose(x):\n"
        "    return lax.cond(x.sum() > 0, lambda v: v, lambda v: v / 2, x)\n"
    )
    for depth in ("none", "1", "all"):
        cell = kernel.run(f"%%jaxtrace -x {depth} -e expand_{depth}.dot\nchoose(x);\n")
        assert not cell.stderr, cell.stderr
    dots = {d: (kernel.workdir / f"expand_{d}.dot").read_text() for d in ("none", "1", "all")}
    assert "cluster_" not in dots["none"]
    assert "cluster_g0" in dots["1"] and "cluster_g1" not in dots["1"]
    assert "cluster_g1" in dots["all"]


@pytest.mark.parametrize("option", ["-s 1", "--static-argnums 1", "-s 0,1", "-s (0, 1)",
                                    "--static-argnums=(1,)"])
def test_static_argnums(kernel, option):
    kernel.run("def filled(val, length):\n    return jnp.full((length,), val)\n")
    cell = kernel.run(f"%%jaxtrace {option} -o t_static\nfilled(2, 5)\n")
    assert cell.value.startswith("Array([2, 2, 2, 2, 2]")
    assert not jaxtrace_lines(cell)
    assert kernel.eval("t_static.errors") == {}


def test_static_argnames(kernel):
    kernel.run("def filled_kw(val, length):\n    return jnp.full((length,), val)\n")
    cell = kernel.run("%%jaxtrace --static-argnames length -o t_names\nfilled_kw(2, length=3)\n")
    assert not jaxtrace_lines(cell)
    assert kernel.eval("t_names.errors") == {}


# -- errors: one clear message, the kernel goes on -----------------------------------------

CREATE_FILLED = (
    "def create_filled(val, length):\n"     # line 2
    "    return jnp.full((length,), val)\n"  # line 3
    "print(create_filled(1.0, 5))\n"
    "jit_create_filled = jax.jit(create_filled)\n"
    "jit_create_filled(2, 5)\n"
)


def test_seed_create_filled_gives_one_message_with_the_fix(kernel):
    cell = kernel.run("%%jaxtrace -o t_failed\n" + CREATE_FILLED)
    assert cell.stdout == "[1. 1. 1. 1. 1.]\n"
    assert not cell.errors and cell.value is None
    message = cell.stderr
    assert re.match(r"jaxtrace: error: Cell In\[\d+\], line 3: `length`", message)
    assert "static_argnums=(1,)" in message and "%%jaxtrace -s 1" in message
    assert "Traceback" not in message and len(message.splitlines()) <= 3
    assert kernel.eval("sorted(t_failed.errors)") == ["trace"]


def test_traceback_option_shows_the_full_traceback(kernel):
    cell = kernel.run("%%jaxtrace --traceback\n" + CREATE_FILLED)
    assert len(cell.errors) == 1
    error = cell.errors[0]
    assert error.ename == "TypeError"
    assert any("jnp.full((length,), val)" in line for line in error.traceback)
    assert "static_argnums=(1,)" in cell.stderr  # and still the fix


def test_exception_in_the_cell_is_one_line_with_the_cell_line(kernel):
    cell = kernel.run("%%jaxtrace\nok = 1\ny = 1 / 0\nfn(W, b, x)\n")
    assert not cell.errors and not cell.displays
    number = kernel.nb.cells[-1].execution_count
    assert cell.stderr == (f"jaxtrace: Cell In[{number}], line 3: ZeroDivisionError: division "
                           "by zero (add --traceback for the full traceback)\n")


def test_python_error_inside_the_traced_function(kernel):
    cell = kernel.run(
        "%%jaxtrace\n"
        "def lookup(params):\n"
        "    return params['W']\n"
        "lookup({'b': b})\n"
    )
    assert not cell.errors
    number = kernel.nb.cells[-1].execution_count
    assert cell.stderr.startswith(f"jaxtrace: error: Cell In[{number}], line 3: KeyError: 'W'")


def test_syntax_error_is_one_line(kernel):
    cell = kernel.run("%%jaxtrace\ndef broken(:\n    pass\nbroken()\n")
    assert not cell.errors
    number = kernel.nb.cells[-1].execution_count
    assert cell.stderr.startswith(f"jaxtrace: Cell In[{number}], line 2: SyntaxError:")


def test_works_eagerly_fails_under_jit_shows_the_finding(kernel):
    cell = kernel.run(
        "%%jaxtrace\n"
        "def cond_fn(x):\n"
        "    if jnp.abs(x.max() - x.min()) <= 1.0:\n"
        "        return x\n"
        "    else:\n"
        "        return x / 2\n"
        "cond_fn(jnp.array([1.0, -1.0]))\n"
    )
    assert cell.value == "Array([ 0.5, -0.5], dtype=float32)"
    shown = trace_displays(cell, "cond_fn")
    assert len(shown) == 1 and "lax.cond" in shown[0]["text/plain"]
    assert jaxtrace_lines(cell) == [line for line in cell.stderr.splitlines()]
    assert re.match(r"jaxtrace: error: Cell In\[\d+\], line 3: a Python `if`",
                    jaxtrace_lines(cell)[0])


def test_seed_mask_tensor(kernel):
    cell = kernel.run(
        "%%jaxtrace\n"
        "def mask_tensor(x, mask):\n"
        "    x = x.at[mask].set(-100.)\n"
        "    return x\n"
        "mask = jnp.arange(16.).reshape(4, 4) % 3 == 0\n"
        "jax.jit(mask_tensor)(jnp.ones((4, 4)), mask)\n"
    )
    assert not cell.errors
    assert re.match(r"jaxtrace: error: Cell In\[\d+\], line 3: boolean-mask indexing",
                    cell.stderr)
    assert "~mask * x - mask * 100." in cell.stderr


def test_failed_export_is_reported_not_raised(kernel):
    cell = kernel.run("%%jaxtrace -e no_such_dir/out.svg\nfn(W, b, x);\n")
    assert not cell.errors
    assert cell.stderr.startswith("jaxtrace: could not export to no_such_dir/out.svg")


BAD_USAGE = {
    "no call": ("%%jaxtrace\nnot_traced = 1\nnot_traced + 1\n", "no call to trace"),
    "undefined": ("%%jaxtrace undefined_fn(1)\nfn(W, b, x)\n", "NameError"),
    "not a call": ("%%jaxtrace fn\nfn(W, b, x)\n", "must be a call"),
    "invalid call": ("%%jaxtrace fn(W,\nfn(W, b, x)\n", "not a Python call"),
    "not callable": ("%%jaxtrace\nbefore(1)\n", "it is a int, not a function"),
    "unknown option": ("%%jaxtrace --bogus\nfn(W, b, x)\n", "unrecognized arguments: --bogus"),
    "bad argnums": ("%%jaxtrace -s one\nfn(W, b, x)\n", "argument positions"),
    "bad expand": ("%%jaxtrace -x some\nfn(W, b, x)\n", "all, none or a depth"),
    "bad export": ("%%jaxtrace -e out.jpg\nfn(W, b, x)\n", "cannot export to 'out.jpg'"),
    "bad budget": ("%%jaxtrace -b soon\nfn(W, b, x)\n", "number of seconds"),
    "bad output": ("%%jaxtrace -o 1t\nfn(W, b, x)\n", "not a valid Python variable name"),
    "line no call": ("%jaxtrace -s 1", "no call to trace"),
    "line undefined": ("%jaxtrace undefined_fn(x)", "NameError"),
}


@pytest.mark.parametrize("case", BAD_USAGE)
def test_bad_usage_is_one_message_and_leaves_the_namespace(kernel, case):
    source, expected = BAD_USAGE[case]
    names = kernel.names()
    cell = kernel.run(source, raises=True)
    assert cell.stderr.startswith("UsageError: ") and expected in cell.stderr, cell.stderr
    assert len(cell.stderr.strip().splitlines()) == 1
    assert not cell.errors and not cell.displays
    assert kernel.names() == names
    assert kernel.eval("before") == 42


# -- timing and findings through the magic ---------------------------------------------------

def test_timing_runs_by_default_and_no_time_skips_it(kernel):
    timed = kernel.run("%%jaxtrace -o t_timed\nfn(W, b, x);\n")
    (shown,) = trace_displays(timed, "fn")
    assert "timing on cpu" in shown["text/plain"] and "speedup" in shown["text/plain"]
    assert kernel.eval("t_timed.timing.jit.best > 0")
    untimed = kernel.run("%%jaxtrace --no-time -o t_untimed\nfn(W, b, x);\n")
    assert "timing on" not in trace_displays(untimed, "fn")[0]["text/plain"]
    assert kernel.eval("t_untimed.timing is None")
    kernel.run("%config JaxViz.time = False")
    try:
        kernel.run("t_config = %jaxtrace fn(W, b, x)")
        assert kernel.eval("t_config.timing is None")
    finally:
        kernel.run("%config JaxViz.time = True")


def test_in_the_background_a_cell_run_meanwhile_is_not_blocked(kernel):
    """With someone watching, the cell shows its first picture once traced, and lowering,
    compiling, timing and the HLO view go on in the background (here asked for: nbclient,
    like nbconvert, gets everything done in the cell by default)."""
    kernel.run("%config JaxViz.background = True")
    try:
        traced = kernel.run(
            "%%jaxtrace -o t_bg\n"
            "def affine_tanh(W, b, x):\n"
            "    return jnp.tanh(x @ W + b)\n"
            "affine_tanh(W, b, x)\n"
        )
        (shown,) = trace_displays(traced, "affine_tanh")
        assert "timing on" not in shown["text/plain"]  # it comes later
        assert not jaxtrace_lines(traced) and not traced.errors
        # The timing waits for an idle kernel: a cell run meanwhile comes first, whole.
        meanwhile = kernel.run(
            "pending = sorted(t_bg.waiting)\n"
            "y = jnp.arange(4.0) * 2\n"
            "print(y.tolist(), {'hlo', 'time'} <= set(pending))\n"
        )
        assert meanwhile.stdout == "[0.0, 2.0, 4.0, 6.0] True\n", meanwhile.outputs
        kernel.run("t_bg.wait()")
        assert kernel.eval("(sorted(t_bg.waiting), t_bg.progress)") == ([], {})
        assert kernel.eval("t_bg.timing.jit.best > 0 and t_bg.cost['flops'] > 0")
        assert kernel.eval("t_bg.hlo_text.startswith('HloModule')")
        assert kernel.eval("float(affine_tanh(W, b, x)[0])") == pytest.approx(0.9999, abs=1e-3)
        assert kernel.eval("__import__('jaxviz').background.wait_all(30)")  # no thread left
    finally:
        kernel.run("%config JaxViz.background = None")


def test_findings_show_in_the_cell_output(kernel):
    cell = kernel.run(
        "%%jaxtrace --no-time\n"
        "shift = 2.0\n"
        "def impure(x):\n"
        "    print('tracing', x)\n"
        "    return x + shift\n"
        "impure(x);\n"
    )
    (shown,) = trace_displays(cell, "impure")
    text = shown["text/plain"]
    assert "line 5: `shift` (= 2.0) is a Python number from outside the function" in text
    assert "line 4: print ran only while tracing" in text
    assert "baked into the compiled function" in shown["text/html"]
    assert cell.stdout == "tracing Traced<float32[4]>with<DynamicJaxprTrace>\n" or \
        cell.stdout.startswith("tracing ")  # the cell's own call printed, as without the magic


def test_recompiling_in_a_loop_is_reported_and_config_restored(kernel):
    cell = kernel.run(
        "%%jaxtrace --no-time\n"
        "def cube(v):\n"
        "    return v * v * v\n"
        "jit_cube = jax.jit(cube)\n"
        "for n in (3, 5, 9, 5):\n"
        "    jit_cube(jnp.ones(n))\n"
        "jit_cube(jnp.ones(3));\n"
    )
    (shown,) = trace_displays(cell, "cube")
    assert "line 6: cube was traced and compiled 3 times in this cell" in shown["text/plain"]
    assert "v: f32[3] → f32[5]" in shown["text/plain"]
    assert "pad inputs to a few fixed shapes" in shown["text/plain"]
    assert cell.stderr == ""  # JAX's cache-miss explanations were collected, not printed
    assert kernel.eval("jax.config.jax_explain_cache_misses") is False


def test_seed_globals_config_and_loop_through_the_magic(kernel):
    """The blog's traps in one cell: a global array, a config dict, an unrolled loop."""
    cell = kernel.run(
        "%%jaxtrace --no-time\n"
        "b_global = jnp.ones(2)\n"
        "config = dict(relu=False)\n"
        "def trapped(W, x):\n"
        "    y = x @ W + b_global\n"
        "    if config['relu']:\n"
        "        y = jax.nn.relu(y)\n"
        "    for _ in range(8):\n"
        "        y = y * 2.0\n"
        "    return y\n"
        "trapped(W, x);\n"
    )
    (shown,) = trace_displays(cell, "trapped")
    text = shown["text/plain"]
    assert "line 5: global array `b_global` (f32[2], 8 B)" in text
    assert "line 6: `config` (dict)" in text
    assert "line 8: Python loop unrolled 8×" in text and "lax.fori_loop" in text  # the for
    # in a kernel the output is the widget, with the static view beside it for nbconvert
    assert "application/vnd.jupyter.widget-view+json" in shown
    assert "unrolled 8" in shown["text/html"]


def test_code_of_an_earlier_cell_is_located_as_ipython_does(kernel):
    defined = kernel.run(
        "def unrolled(x):\n"
        "    for _ in range(6):\n"
        "        x = jnp.sin(x) * 2\n"
        "    return x\n"
    )
    number = kernel.nb.cells[-1].execution_count
    cell = kernel.run("%%jaxtrace --no-time -o t_cells\nunrolled(jnp.ones(3))")
    assert not defined.errors and not cell.errors
    text = trace_displays(cell, "unrolled")[0]["text/plain"]
    assert f"warning: Cell In[{number}], line 2: Python loop unrolled 6×" in text
    assert kernel.eval("[f.where for f in t_cells.findings]") == [f"Cell In[{number}], line 2"]
    assert ".py:" not in text  # IPython's cache file names never show


# -- %jaxcompare ---------------------------------------------------------------------------

def parse_pair(line):
    return parse_call_pair(JaxTraceMagics.jaxcompare.parser, line)


@pytest.mark.parametrize("line, calls", [
    ("", None),
    ("f(x) g(x)", ("f(x)", "g(x)")),
    ("-o c f(x, 'a b') jax.vmap(g)(xs) --no-time", ("f(x, 'a b')", "jax.vmap(g)(xs)")),
    ("  f(*xs, k=1)   g(y)  -s 1", ("f(*xs, k=1)", "g(y)")),
])
def test_two_calls_are_split_from_the_options(line, calls):
    assert parse_pair(line)[0] == calls


def test_the_compare_options():
    calls, options, silent = parse_pair("-s 1 --static-argnames n -o c -e both.svg f(x) g(x);")
    assert calls == ("f(x)", "g(x)") and silent
    assert (options.static_argnums, options.static_argnames, options.output,
            options.export) == ((1,), ("n",), "c", ["both.svg"])


@pytest.mark.parametrize("line, expected", [
    ("f(x)", r"needs two calls, as in %jaxcompare f\(x\) g\(x\).*\(got 'f\(x\)'\)"),
    ("f g", "needs two calls.*got 'f g'"),
    ("--bogus f(x) g(x)", "unrecognized arguments: --bogus"),
])
def test_misused_compare_lines_are_usage_errors(line, expected):
    with pytest.raises(UsageError, match=expected):
        parse_pair(line)


COMPARED = (
    "def one(x):\n"
    "    return jnp.tanh(x @ W + b).sum()\n"
    "def by_hand(xs):\n"
    "    return jnp.tanh(xs @ W + b).sum(axis=-1)\n"
    "by_vmap = jax.vmap(one)\n"
    "xs = jnp.ones((3, 4))\n"
)


def test_compare_line_magic_returns_the_comparison(kernel):
    kernel.run(COMPARED)
    names = kernel.names()
    cell = kernel.run("%jaxcompare --no-time by_hand(xs) by_vmap(xs)")
    assert not cell.errors and not cell.stderr, cell.outputs
    assert cell.value.startswith("`by_hand` and `by_vmap` ")  # named as called
    assert kernel.names() == names  # the namespace changes only with -o
    kernel.run("c_line = %jaxcompare --no-time -o c_kept by_hand(xs) by_vmap(xs)")
    assert kernel.eval("(type(c_line).__name__, c_kept is c_line)") == ("Comparison", True)
    assert kernel.eval("c_line.compiled_same") is True
    assert kernel.run("%jaxcompare --no-time by_hand(xs) by_vmap(xs);").value is None


def test_compare_cell_compares_its_last_two_calls(kernel):
    cell = kernel.run(
        "%%jaxcompare -o c_cell\n"
        "def squares(x):\n"
        "    for _ in range(5):\n"
        "        x = x * x\n"
        "    return x\n"
        "def squares_loop(x):\n"
        "    return lax.fori_loop(0, 5, lambda i, x: x * x, x)\n"
        "squares(x)\n"
        "squares_loop(x)\n"
    )
    assert not cell.errors and not cell.stderr, cell.outputs
    assert cell.value.startswith("Array(")  # the cell's own value, as without the magic
    (shown,) = [d for d in cell.displays if "`squares`" in d.get("text/plain", "")]
    assert "application/vnd.jupyter.widget-view+json" in shown and "text/html" in shown
    assert "`squares` adds 4 mul." in shown["text/plain"]
    assert kernel.eval("c_cell.left.timing is not None and c_cell.right.timing is not None")
    assert "jit, best" in shown["text/plain"]


def test_compare_cell_with_calls_given_and_an_export(kernel):
    cell = kernel.run(
        "%%jaxcompare --no-time -e both.svg by_hand(xs) by_vmap(xs)\n"
        "xs = jnp.ones((5, 4))\n"
    )
    assert not cell.errors and not cell.stderr, cell.outputs
    svg = (kernel.workdir / "both.svg").read_text()
    assert "by_hand" in svg and "by_vmap" in svg and "f32[5,4]" in svg


def test_compare_misuse_is_refused_before_the_cell_runs(kernel):
    cell = kernel.run("%%jaxcompare\nnever_set = 1\nfn(W, b, x)\n", raises=True)
    assert cell.stderr.startswith("UsageError: %jaxcompare needs two calls"), cell.stderr
    assert len(cell.stderr.strip().splitlines()) == 1 and not cell.displays
    assert "never_set" not in kernel.names()
    cell = kernel.run("%jaxcompare fn(W, b, x)", raises=True)
    assert cell.stderr.startswith("UsageError: ") and "(got 'fn(W, b, x)')" in cell.stderr


def test_a_compared_call_that_fails_is_one_line(kernel):
    cell = kernel.run("%%jaxcompare --no-time\nfn(W, b, x)\nfn(W, b, jnp.ones(3))\n")
    assert not cell.errors and cell.value is None
    lines = [line for line in cell.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("jaxtrace:") for line in lines), cell.stderr


def test_compared_calls_of_one_function_are_named_by_their_arguments(kernel):
    cell = kernel.run("%jaxcompare --no-time fn(W, b, x) fn(W, b, 2 * x)")
    assert cell.value.startswith("`fn(W, b, x)` and `fn(W, b, 2 * x)` run the same operations")


@pytest.mark.parametrize("option", ["-s 1", "--static-argnames length"])
def test_static_arguments_apply_to_both_compared_calls(kernel, option):
    kernel.run("def filled_by(val, length):\n    return jnp.full((length,), val)\n")
    cell = kernel.run(f"%jaxcompare --no-time {option} filled_by(2, 5) filled_by(3, length=5)"
                      if "names" in option else
                      f"%jaxcompare --no-time {option} filled_by(2, 5) filled_by(3, 6)")
    assert not cell.errors and not cell.stderr, cell.outputs
    assert "did not trace" not in cell.value and "broadcast_in_dim" in cell.value


def test_profile_option_shows_where_the_time_goes(kernel):
    cell = kernel.run("%%jaxtrace -p --no-time -o t_prof\n"
                      "def square(a):\n"
                      "    return a @ a\n"
                      "square(jnp.ones((128, 128)))\n")
    assert not cell.errors and not jaxtrace_lines(cell), cell.outputs
    (shown,) = trace_displays(cell, "square")
    assert "profile on" in shown["text/plain"] and "memory at the peak" in shown["text/plain"]
    assert kernel.eval("t_prof.profiled is not None and t_prof.timing is None")
    assert kernel.eval("t_prof.memory_at_peak.measured")
    assert "--profile" in kernel.eval("get_ipython().find_cell_magic('jaxtrace').__doc__")
    cell = kernel.run("%%jaxtrace --no-time -o t_unprofiled\nsquare(jnp.ones((4, 4)))\n")
    assert kernel.eval("t_unprofiled.profiled is None")  # off unless asked: it runs the function
