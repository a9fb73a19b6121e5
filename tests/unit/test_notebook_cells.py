"""The committed notebooks stay readable: short code cells, no markers nbval ignores, cell ids."""
import json
import statistics
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_LINES = 25
MEDIAN_LINES = 8


def code_lines(cell: dict) -> int:
    """Non-blank lines of a code cell, nbval markers left out."""
    return sum(1 for line in "".join(cell["source"]).splitlines()
               if line.strip() and not line.strip().startswith("# NBVAL_"))


def test_the_notebooks_are_found():
    assert len(NOTEBOOKS) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_code_cell_is_longer_than_the_limit(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    long = [(i, code_lines(c)) for i, c in enumerate(cells)
            if c["cell_type"] == "code" and code_lines(c) > MAX_LINES]
    assert long == [], f"{path.name}: cells (index, lines) over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_median_code_cell_is_short(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    median = statistics.median(code_lines(c) for c in cells if c["cell_type"] == "code")
    assert median <= MEDIAN_LINES, f"{path.name}: median code cell {median} lines"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_have_ids_and_no_ignore_markers(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert all(c.get("id") for c in cells), f"{path.name}: a cell has no id"
    marked = [i for i, c in enumerate(cells) if "NBVAL_IGNORE_OUTPUT" in "".join(c["source"])]
    assert marked == [], (f"{path.name}: cells {marked} carry NBVAL_IGNORE_OUTPUT, which "
                          "--nbval-lax already implies")
