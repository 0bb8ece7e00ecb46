"""Grading the course with nbgrader: what to put in an nbgrader course's ``nbgrader_config.py``.

    from course_lib.grading.nbgrader_support import configure
    configure(c)

The forbidden-reference rule needs nothing here: each exercise's first test cell runs
``check.answer_cell``, which (in any kernel, so under ``nbgrader autograde`` too) makes the
exercise's references raise when the answer's code calls them, however it reaches them.
``configure`` makes ``nbgrader generate_feedback`` keep hidden tests hidden: their code and
the tracebacks that quote it are left out; each failed check's message stays. Needs nbgrader
(the ``test`` extra); see the README for where nbgrader and ``course-grade`` still differ.
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

_HIDDEN = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S)
#: What replaces a hidden region in the feedback.
HIDDEN_NOTE = "# (hidden tests: not shown; a failed check's message is below)\n"


class HideHiddenTests(Preprocessor):
    """For feedback: drop each test cell's hidden tests and reduce its error outputs to the
    error's name and message (a traceback quotes the failing line of test code)."""

    enabled = Bool(True, help="nbconvert runs only enabled preprocessors").tag(config=True)

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        grade = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not grade.get("grade"):
            return cell, resources
        cell.source = _HIDDEN.sub(HIDDEN_NOTE, cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', '')}: {output.get('evalue', '')}"]
        return cell, resources


def configure(c: Any) -> None:
    """Set up an nbgrader config ``c`` (from ``get_config()``) for this course."""
    c.GenerateFeedback.preprocessors = [
        "nbgrader.preprocessors.GetGrades",
        f"{__name__}.HideHiddenTests",
        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    ]
