"""Slides: metadata assigned at build time, offline HTML, the command line."""

import json
import re
from pathlib import Path

import pytest

from course_lib.tools import slides
from course_lib.tools.html_export import ExportError, external_sources


def md(source: str, **metadata) -> dict:
    return {"cell_type": "markdown", "metadata": metadata, "source": source}


def code(source: str, outputs: list | None = None) -> dict:
    return {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "execution_count": 1,
        "outputs": outputs or [],
    }


def notebook(*cells: dict) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [dict(cell, id=f"c{index}") for index, cell in enumerate(cells)],
    }


DEMO = notebook(
    md("# Lesson 99 — demo\n\nGoals."),
    code("x = 1", [{"output_type": "stream", "name": "stdout", "text": "one\n"}]),
    md("More prose about $\\sqrt{d}$."),
    code("y = 2"),
    md("## 1. A section"),
    md("### A sub-section"),
    code(""),
    md("See [exercise](../exercises/99_demo.ipynb) and [lesson 98](98_other.ipynb)."),
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (md("# Title"), "slide"),
        (md("## Section\ntext"), "slide"),
        (md("### Sub-section"), "subslide"),
        (md("Just prose."), "subslide"),
        (md("#hashtag is not a heading"), "subslide"),
        (code("print(1)"), "fragment"),
        (code("   \n"), "skip"),
        (md(""), "skip"),
        ({"cell_type": "raw", "metadata": {}, "source": "raw"}, "skip"),
        (md("# Title", slideshow={"slide_type": "notes"}), "notes"),
    ],
)
def test_slide_type_rules(cell, expected):
    assert slides.slide_type(cell) == expected


def test_an_unknown_slide_type_in_metadata_is_refused():
    with pytest.raises(ValueError, match="slide_type 'slidee'"):
        slides.slide_type(md("# x", slideshow={"slide_type": "slidee"}))


def test_assign_slides_copies_and_opens_with_a_slide():
    nb = notebook(code("setup = 1"), md("## Heading"), md("text"))
    result = slides.assign_slides(nb)
    kinds = [cell["metadata"]["slideshow"]["slide_type"] for cell in result["cells"]]
    assert kinds == ["slide", "slide", "subslide"]
    assert "slideshow" not in nb["cells"][0]["metadata"], "the input must not be modified"


@pytest.mark.parametrize("nb", [notebook(), notebook(code(""), md("  "))])
def test_assign_slides_refuses_a_notebook_with_nothing_to_show(nb):
    with pytest.raises(ValueError, match="nothing to put on slides"):
        slides.assign_slides(nb)


def test_build_slides_structure_links_and_no_network(tmp_path):
    source = tmp_path / "notebooks" / "99_demo.ipynb"
    source.parent.mkdir()
    source.write_text(json.dumps(DEMO))
    other = source.with_name("98_other.ipynb")
    other.write_text(json.dumps(notebook(md("# Lesson 98"))))

    written = slides.build_slides([other, source], tmp_path / "out")
    assert [path.name for path in written] == ["98_other.slides.html", "99_demo.slides.html"]
    page = (tmp_path / "out" / "99_demo.slides.html").read_text()
    assert external_sources(page) == []
    # two slides (# and ##), five sub-slides, two visible code fragments, presenter inlined
    assert page.count('<div class="slides">') == 1
    assert len(re.findall(r"<section\b", page)) == 2 + 5
    assert page.count('class="fragment"') == 2
    assert "Right / Space / PageDown" in page and "slide-counter" in page
    assert '<math alttext="\\sqrt{d}"' in page and "<msqrt>" in page, "math is MathML"
    assert "$" not in re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S), "no raw LaTeX"
    # a link to another lesson goes to its deck; a link to a file that is not built is text
    assert 'href="98_other.slides.html"' in page
    assert "99_demo.ipynb" not in re.findall(r'href="([^"]*)"', page)
    assert 'title="in the course repository: exercises/99_demo.ipynb"' in page
    index = (tmp_path / "out" / "index.html").read_text()
    assert 'href="99_demo.slides.html">Lesson 99 — demo</a>' in index


def test_slides_html_names_an_unreadable_notebook(tmp_path):
    bad = tmp_path / "00_bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(ExportError, match="00_bad.ipynb: not a readable notebook"):
        slides.slides_html(bad)


def test_cli_reports_a_missing_notebook(tmp_path, capsys):
    with pytest.raises(SystemExit):
        slides.main([str(tmp_path / "nope.ipynb"), "--out", str(tmp_path)])
    assert "no such notebook" in capsys.readouterr().err


def test_cli_builds_the_given_notebooks(tmp_path, capsys):
    source = tmp_path / "99_demo.ipynb"
    source.write_text(json.dumps(DEMO))
    assert slides.main([str(source), "--out", str(tmp_path / "out")]) == 0
    assert "wrote 1 slide decks" in capsys.readouterr().out
    assert (tmp_path / "out" / "99_demo.slides.html").is_file()


def test_every_lesson_is_found():
    lessons = sorted(Path(slides.COURSE_DIR).glob(slides.LESSON_GLOB))
    assert lessons and all(re.match(r"\d\d_", path.name) for path in lessons)
