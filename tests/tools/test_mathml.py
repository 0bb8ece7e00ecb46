"""Math on the site and the slides: every formula of the course becomes MathML at build time;
dollar signs that are not math, code and Markdown's own syntax are left alone."""

import html
import json
import re
from pathlib import Path

import pytest

from course_lib.tools.html_export import ExportError, export
from course_lib.tools.mathml import MathError, formulas, markdown_to_html, to_mathml

COURSE_DIR = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(COURSE_DIR.glob("notebooks/*.ipynb")) + sorted(
    COURSE_DIR.glob("exercises/*.ipynb")
)
DOCUMENTS = [COURSE_DIR / "README.md", *sorted(COURSE_DIR.glob("teaching/*.md"))]


def markdown_sources() -> list[tuple[str, str]]:
    """(where, Markdown) for every Markdown cell and document the site publishes."""
    sources = []
    for path in NOTEBOOKS:
        for index, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                sources.append(
                    (f"{path.relative_to(COURSE_DIR)} cell {index}", "".join(cell["source"]))
                )
    sources += [(str(path.relative_to(COURSE_DIR)), path.read_text()) for path in DOCUMENTS]
    return sources


def visible_text(page: str) -> str:
    """The text a reader sees outside formulas and code."""
    for element in ("math", "code", "pre", "style", "script"):
        page = re.sub(rf"<{element}\b.*?</{element}>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_every_formula_of_the_course_becomes_mathml():
    count = {True: 0, False: 0}
    problems = []
    for where, source in markdown_sources():
        for latex, display in formulas(source):
            count[display] += 1
            try:
                mathml = to_mathml(latex, display)
            except MathError as error:
                problems.append(f"{where}: {error}")
                continue
            assert mathml.startswith("<math ") and mathml.endswith("</math>")
            assert f'display="{"block" if display else "inline"}"' in mathml
    assert not problems, "\n".join(problems)
    # the issue counted ~226 inline and 7 display formulas in the lessons alone
    assert count[False] > 400 and count[True] > 15, count


def test_no_raw_latex_is_left_on_any_page():
    problems = []
    for where, source in markdown_sources():
        page = markdown_to_html(source)
        if page.count("<math ") != len(formulas(source)):
            problems.append(
                f"{where}: {len(formulas(source))} formulas, {page.count('<math ')} shown"
            )
        text = visible_text(page)
        if "$" in text:
            problems.append(f"{where}: a dollar sign left: {text[text.find('$') - 40 :][:90]!r}")
        command = re.search(r"\\[A-Za-z]+", text)
        if command:
            problems.append(f"{where}: raw LaTeX left: {command.group(0)}")
    assert not problems, "\n".join(problems)


def test_the_lessons_own_hardest_formulas():
    reinforce = (
        r"\nabla_\theta \mathbb{E}[R] = \sum_a R(a)\, \nabla_\theta \pi_\theta(a)"
        r" = \mathbb{E}_{a \sim \pi_\theta}\big[R(a)\, \nabla_\theta \log \pi_\theta(a)\big]."
    )
    mathml = html.unescape(to_mathml(reinforce, display=True))
    assert "∇" in mathml and "𝔼" in mathml and "π" in mathml
    assert "<munder>" in mathml or "<msub>" in mathml, "the sum's index"
    matrix = to_mathml(r"\begin{pmatrix} x \\ y \\ 1 \end{pmatrix}", display=True)
    assert matrix.count("<mtr>") == 3
    for latex in (
        r"\operatorname{softmax}(QK^\top / \sqrt d) \odot V",
        r"\frac{1}{T}\sum_{t=1}^{T} \mathbb 1[\text{token } t \text{ is sent to } i]",
        r"\mathcal L_{\text{balance}} = \mathrm{PE}[p, 2i]",
    ):
        assert "<math " in to_mathml(latex)


def test_letters_of_math_alphabets_are_the_unicode_symbols():
    # Chromium (MathML Core) ignores mathvariant="double-struck": the letters must change
    mathml = to_mathml(r"\mathbb{E} + \mathbb 1 + \mathcal N + \mathcal{L} + \mathbb{R}")
    assert "double-struck" not in mathml and 'mathvariant="script"' not in mathml
    for symbol in ("𝔼", "𝟙", "𝒩", "ℒ"):
        assert symbol in html.unescape(mathml), symbol


@pytest.mark.parametrize(
    "latex,problem",
    [
        (r"\foo x", r"unknown command \\foo"),
        (r"\frac{a}{", "cannot render the formula"),
        ("x^", "cannot render the formula"),
        ("  ", "empty formula"),
    ],
)
def test_a_formula_that_cannot_render_is_an_error_naming_it(latex, problem):
    with pytest.raises(MathError, match=problem):
        to_mathml(latex)


def test_markdown_around_math_is_left_alone():
    page = markdown_to_html(
        "Costs $5 or $10 in total; *emphasis* and `code with $x$`; an escaped \\$3.\n\n"
        "Weights $a_i * b_j$ and $c_k$, $2^k$ windows.\n\n"
        "```python\nprint('$y$')\n```\n\n$$\\sum_a x_a * y_a$$\n"
    )
    text = visible_text(page)
    assert "Costs $5 or $10 in total" in text and "escaped $3" in text
    assert "<em>emphasis</em>" in page and "<code>code with $x$</code>" in page
    assert "print('$y$')" in html.unescape(re.sub(r"<[^>]+>", "", page))
    assert page.count("<math ") == 4, "a_i * b_j, c_k, 2^k and the display sum"
    assert page.count("<em>") == 1, "no * or _ inside math became emphasis"
    assert page.count('display="block"') == 1


def notebook(*cells: dict) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": list(cells)}


def test_exported_pages_and_slides_carry_mathml_and_keep_code_dollars():
    nb = notebook(
        {
            "cell_type": "markdown",
            "id": "m",
            "metadata": {},
            "source": "# T\n\n$$\\sqrt{d}$$ and $q$",
        },
        {
            "cell_type": "code",
            "id": "c",
            "metadata": {},
            "execution_count": 1,
            "source": "print('$5 and $q$')",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "$5 and $q$\n"}],
        },
    )
    for kind in ("page", "slides"):
        page = export(nb, kind)
        assert page.count("<math ") == 2, kind
        assert "MathJax" not in page, kind
        text = html.unescape(re.sub(r"<[^>]+>", "", page))
        assert text.count("$5 and $q$") == 2, f"{kind}: the code and its output keep their dollars"


def test_an_unrenderable_formula_fails_the_export_and_names_the_notebook():
    nb = notebook({"cell_type": "markdown", "id": "m", "metadata": {}, "source": "$\\nosuch x$"})
    with pytest.raises(ExportError, match=r"99_demo.ipynb.*unknown command \\nosuch"):
        export(nb, "page", name="99_demo.ipynb")
