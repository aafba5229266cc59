"""jaxviz on the corpus of real programs (tests/real/): each traces, every output builds, no
finding points into a library, the expected findings are at their lines, links cover ≥ 90%.
"""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("flax", reason="Flax needs jax >= 0.10")
pytest.importorskip("equinox", reason="Equinox does not support the oldest jax")

from real import CORPUS  # noqa: E402
from real.check import has, report  # noqa: E402

TESTS = os.path.dirname(__file__)
IDS = CORPUS
_REPORTS: dict[str, dict] = {}


def traced(module, name, devices):
    if name not in _REPORTS:
        if devices == 1:
            _REPORTS[name] = report(module, name)
        else:  # a process of its own, with that many CPU devices
            env = {**os.environ, "XLA_FLAGS": os.environ.get("XLA_FLAGS", "")
                   + f" --xla_force_host_platform_device_count={devices}"}
            done = subprocess.run([sys.executable, "-m", "real.check", module, name],
                                  cwd=TESTS, env=env, capture_output=True, text=True,
                                  timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
            _REPORTS[name] = json.loads(done.stdout.splitlines()[-1])
    return _REPORTS[name]


programs = pytest.mark.parametrize("module, name, devices", IDS, ids=[i[1] for i in IDS])


@programs
def test_traces_and_every_output_builds(module, name, devices):
    result = traced(module, name, devices)
    assert result["errors"] == {} and result["build"] == []


@programs
def test_no_finding_points_into_a_library(module, name, devices):
    result = traced(module, name, devices)
    for finding in result.get("findings", []):
        assert finding["user"], finding["text"]
        if finding["file"] is not None:
            assert os.path.basename(finding["file"]) in finding["text"], finding["text"]


@programs
def test_expected_findings_are_at_their_lines(module, name, devices):
    result = traced(module, name, devices)
    found = {(f["kind"], f["line"]) for f in result.get("findings", [])
             if f["file"] == result["file"]}
    missing = [marker for marker in result["expected"] if tuple(marker) not in found]
    assert not missing, [f["text"].splitlines()[0] for f in result.get("findings", [])]
    loops = [f["line"] for f in result.get("findings", []) if f["kind"] == "unrolled-loop"]
    assert len(loops) == len(set(loops))  # one finding per loop, its gradient included


@programs
def test_links_cover_the_compiled_program(module, name, devices):
    assert traced(module, name, devices).get("coverage", 0) >= 0.9


@programs
def test_no_structure_free_chunks_at_the_top_of_either_view(module, name, devices):
    for view, found in traced(module, name, devices)["views"].items():
        assert found["top_chunks"] == [], view


@programs
def test_both_views_have_the_programs_structure(module, name, devices):
    """Forward, backward, each layer or module by name, the optimizer update as one group:
    in the jaxpr view, and in the HLO view through the links."""
    result = traced(module, name, devices)
    for view, found in result["views"].items():
        missing = [g for g in result["groups"] if not has(found["groups"], g)]
        assert not missing, (view, found["groups"])


@programs
def test_the_default_views_fit_and_show_a_layer_or_module_open(module, name, devices):
    result = traced(module, name, devices)
    for view, found in result["views"].items():
        assert found["drawn"] <= 250, view
        if result["opens"]:
            assert has(found["open"], result["opens"]), (view, found["open"])
