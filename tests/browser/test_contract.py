"""The browser checks can fail: tiny notebooks with a working explorer, a broken one, an
error and a broken figure, run through the same checks as the lessons."""

from __future__ import annotations

import pytest

from .harness import (
    NotebookPage,
    check_all_cells_ran,
    check_explorer,
    check_explorers,
    check_figures,
    check_no_errors,
    code_cells_through,
    committed_figures,
    expects_explorer,
    explorer_cells,
    last_cell_to_run,
)

KERNELSPEC = {
    "name": "attention-course",
    "display_name": "Python 3 (attention course)",
    "language": "python",
}
EXPLORER = '''
import ipywidgets as widgets


def demo_explorer(name, broken=False):
    """A slider and a dropdown; the caption shows both. ``broken``: the callback fails."""
    step = widgets.IntSlider(value=1, min=0, max=5, description="step")
    word = widgets.Dropdown(options=["cat", "sat", "mat"], description="word")
    caption = widgets.HTML()

    def show(_=None):
        if broken and _ is not None:
            raise RuntimeError("a broken callback")
        caption.value = f"<b>step {step.value}</b>, word {word.value}"

    step.observe(show, "value")
    word.observe(show, "value")
    show()
    box = widgets.VBox([step, word, caption])
    box.add_class(f"{name}-explorer")
    return box
'''
# A 1x1 PNG that is cut short: the browser cannot decode it.
BROKEN_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADU"


def code(source: str, outputs: list | None = None) -> dict:
    return {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "execution_count": None,
        "outputs": outputs or [],
    }


def notebook(*cells: dict) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": KERNELSPEC},
        "cells": [dict(cell, id=f"cell{index}") for index, cell in enumerate(cells)],
    }


def test_a_working_explorer_passes_and_a_broken_callback_fails(lab_page, lab):
    source = notebook(
        code(EXPLORER),
        code('demo_explorer("working")'),
        code('demo_explorer("broken", broken=True)'),
        code("raise RuntimeError('the explorers do not need this cell')"),
    )
    assert explorer_cells(source) == [0, 1, 2] and last_cell_to_run(source) == 2
    relative = lab.add_notebook("fixtures/explorers.ipynb", source)
    shown = NotebookPage(lab_page, lab, relative).open()
    shown.run_through(2)
    check_all_cells_ran(shown, code_cells_through(source, 2))
    assert shown.prompts()[3] == "[ ]:", "run_through runs no cell after the one it is given"
    check_no_errors(shown)
    explorers = {explorer.name: explorer for explorer in shown.explorers()}
    assert sorted(explorers) == ["broken-explorer", "working-explorer"]
    assert explorers["working-explorer"].controls == ["slider", "dropdown"]

    log = check_explorer(shown, explorers["working-explorer"])
    assert len(log) == 2, log
    with pytest.raises(AssertionError, match="broken-explorer: slider 0 .* did not change"):
        check_explorer(shown, explorers["broken-explorer"], change_s=5)
    with pytest.raises(AssertionError, match="broken-explorer"):
        check_explorers(shown, expected=True, change_s=5)


def test_errors_missing_explorers_and_broken_figures_fail(lab_page, lab):
    broken_figure = {
        "output_type": "display_data",
        "metadata": {},
        "data": {"image/png": BROKEN_PNG, "text/plain": "<Figure>"},
    }
    source = notebook(
        code("print('a figure that cannot be decoded')", [broken_figure]),
        code(EXPLORER + '\nhidden = demo_explorer("hidden")  # created, never displayed'),
        code("1 / 0"),
        code("print('never runs')"),
    )
    relative = lab.add_notebook("fixtures/errors.ipynb", source)
    shown = NotebookPage(lab_page, lab, relative).open()

    assert committed_figures(source) == 1
    with pytest.raises(AssertionError, match=r"figures \[0\] did not load"):
        check_figures(shown, committed_figures(source))
    with pytest.raises(AssertionError, match="1 figures on the page, expected 2"):
        check_figures(shown, 2)

    shown.run_all()
    with pytest.raises(AssertionError, match=r"code cells \[3\] \(of 4\) did not run"):
        check_all_cells_ran(shown)
    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        check_no_errors(shown)
    assert expects_explorer(source)
    with pytest.raises(AssertionError, match="none is shown after running it"):
        check_explorers(shown, expected=True)
