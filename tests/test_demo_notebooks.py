"""Every demo notebook runs top to bottom in a real kernel without an error."""

import pathlib

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "demo_notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.kernel


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


def test_demo_notebooks_are_stored_without_outputs():
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), path
