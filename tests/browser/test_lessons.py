"""Every lesson notebook in a real browser (JupyterLab + Chromium).

- Every ``notebooks/NN_*.ipynb`` opens with the course kernel and shows its committed outputs:
  every figure, no error.
- Every lesson with a widget explorer (a widget with a CSS class ending in ``-explorer``) is
  run in the browser up to its last explorer cell (Run All Above Selected Cell, then that
  cell): every cell runs, no error, the figures come back, and moving each slider or dropdown
  of each explorer changes what it shows. ``COURSE_BROWSER_RUN_ALL=1`` runs every cell of every
  lesson this way (Run → Run All Cells). nbval already executes every lesson in ``make test``,
  so by default the browser only re-runs what the explorers need.

New lessons are picked up without editing this file.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from .harness import (
    NotebookPage,
    check_all_cells_ran,
    check_explorers,
    check_figures,
    check_kernel,
    check_no_errors,
    code_cells_through,
    committed_errors,
    committed_figures,
    expects_explorer,
    last_cell_to_run,
)

COURSE_DIR = Path(__file__).resolve().parents[2]
LESSONS = sorted((COURSE_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUN_ALL = os.environ.get("COURSE_BROWSER_RUN_ALL") == "1"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def to_run() -> list[Path]:
    return [path for path in LESSONS if RUN_ALL or expects_explorer(load(path))]


def test_lessons_are_found():
    assert LESSONS, "no notebooks/NN_*.ipynb found"


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.stem)
def test_lesson_renders(lab_page, lab, path):
    """The committed notebook opens with the course kernel, every figure shows, no error."""
    notebook = load(path)
    assert not committed_errors(notebook), committed_errors(notebook)
    shown = NotebookPage(lab_page, lab, f"notebooks/{path.name}").open()
    check_kernel(shown, notebook)
    check_no_errors(shown)
    check_figures(shown, committed_figures(notebook))


@pytest.mark.parametrize("path", to_run(), ids=lambda path: path.stem)
def test_lesson_runs_and_explorers_respond(lab_page, lab, path):
    """Run the lesson in the browser (all of it, or up to its last explorer): every cell
    runs, figures come back, and each explorer's controls change what it shows."""
    notebook = load(path)
    last = len(notebook["cells"]) - 1 if RUN_ALL else last_cell_to_run(notebook)
    shown = NotebookPage(lab_page, lab, f"notebooks/{path.name}").open()
    check_kernel(shown, notebook)
    start = time.monotonic()
    if last == len(notebook["cells"]) - 1:
        shown.run_all()
    else:
        shown.run_through(last)
    print(f"ran cells 0..{last} of {len(notebook['cells'])} in {time.monotonic() - start:.0f} s")
    check_all_cells_ran(shown, code_cells_through(notebook, last))
    check_no_errors(shown)
    check_figures(shown, committed_figures(notebook, last), at_least=True)
    for line in check_explorers(shown, expected=expects_explorer(notebook)):
        print(line)
    check_no_errors(shown)
