"""Every demo notebook runs top to bottom in a real kernel without an error, and says what
its story claims."""

import pathlib

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "demo_notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.kernel

#: What a notebook's outputs must say, computed by jaxviz (not written in its markdown).
CLAIMS = {
    "02_what_xla_does": ["compiled to the same program: True",
                         "extra mul traced by the Python loop: 999",
                         "XLA compiles them to identical programs."],
    "07_vmap": ["`manual einsum` and `vmap` both run dot_general",
                "`vmap` adds 1 transpose.", "XLA compiles them to identical programs",
                "`list comprehension` adds 10 slice"],
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_demo_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for cell in nb.cells if cell.cell_type == "code"
              for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert list(tmp_path.iterdir()) == []  # the notebook cleans up what it wrote
    said = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                     for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", []))
    for claim in CLAIMS.get(path.stem, []):
        assert claim in said, claim


def test_demo_notebooks_are_stored_without_outputs_and_run_every_cell():
    assert len(NOTEBOOKS) == 8
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert all(not cell.get("outputs") for cell in code), path
        assert not [c for c in code if "skip-execution" in c.metadata.get("tags", [])], path
        # every code cell says why: a markdown cell comes before it
        for before, cell in zip(nb.cells, nb.cells[1:]):
            assert not (before.cell_type == cell.cell_type == "code"), (path, cell.source[:60])
