"""Math and slide layout in a real browser, from pages built on disk: formulas are drawn as
MathML (no raw ``$…$`` left), and no element of any slide lies outside its slide.

Screenshots of failures go to ``test-artifacts/browser/`` (see ``conftest.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from course_lib.tools.html_export import export
from course_lib.tools.slides import build_slides

from .conftest import ARTIFACTS, artifact_name

COURSE_DIR = Path(__file__).resolve().parents[2]
LESSONS = sorted(COURSE_DIR.glob("notebooks/[0-9][0-9]_*.ipynb"))
#: Lesson 05 has the REINFORCE derivation: display and inline math.
MATH_LESSON = COURSE_DIR / "notebooks" / "05_hard_attention_reinforce.ipynb"
#: A projector's 16:9 and an old 4:3 screen.
SCREENS = {"1280x720": (1280, 720), "1024x768": (1024, 768)}

#: What the page shows of its math: every <math> with its size and CSS display (MathML Core
#: gives "block math" / "inline math"), whether each fraction is laid out vertically, and the
#: text outside formulas and code in which a "$" or a LaTeX command would be raw LaTeX.
MATH_JS = """(root) => {
  root = root || document;
  const maths = [...root.querySelectorAll('math')].map((m) => {
    const r = m.getBoundingClientRect();
    return {display: getComputedStyle(m).display, block: m.getAttribute('display') === 'block',
            width: r.width, height: r.height};
  });
  const fractions = [...root.querySelectorAll('mfrac')].map((f) => {
    const [top, bottom] = [...f.children].map((c) => c.getBoundingClientRect());
    return top.bottom <= bottom.top + 1;
  });
  const texts = [...root.querySelectorAll('.jp-MarkdownCell, .jp-RenderedMarkdown')].map((cell) => {
    const copy = cell.cloneNode(true);
    copy.querySelectorAll('math, code, pre').forEach((node) => node.remove());
    return copy.textContent;
  });
  return {maths, fractions, text: texts.join('\\n')};
}"""

#: Every element of a sub-slide whose box (clipped by its own scrolling ancestors, not by the
#: slide) leaves the slide's box, with the fragments all shown.
OVERFLOW_JS = """(index) => {
  window.coursePresenter.go(index, 'all');
  const slide = document.querySelector('.slides > section.present > section.present')
    || document.querySelector('.slides > section.present');
  const box = slide.getBoundingClientRect();
  const out = [];
  for (const element of slide.querySelectorAll('*')) {
    const r = element.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    let [left, top, right, bottom] = [r.left, r.top, r.right, r.bottom];
    for (let a = element.parentElement; a && a !== slide; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
      const c = a.getBoundingClientRect();
      [left, top, right, bottom] = [Math.max(left, c.left), Math.max(top, c.top),
                                    Math.min(right, c.right), Math.min(bottom, c.bottom)];
    }
    if (right <= left || bottom <= top) continue;  // scrolled out of its own box
    if (left < box.left - 1 || top < box.top - 1 || right > box.right + 1
        || bottom > box.bottom + 1) {
      const cls = (element.getAttribute('class') || '').split(' ').slice(0, 2).join('.');
      out.push(`${element.tagName.toLowerCase()}.${cls} [${Math.round(left)}, ${Math.round(top)},`
               + ` ${Math.round(right)}, ${Math.round(bottom)}] outside the slide`
               + ` [${Math.round(box.left)}, ${Math.round(box.top)}, ${Math.round(box.right)},`
               + ` ${Math.round(box.bottom)}]`);
    }
  }
  return {overflow: out, zoom: slide.getAttribute('data-zoom'),
          scrolls: slide.scrollHeight > slide.clientHeight + 1};
}"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Every lesson's slides, and lesson 05 as a site page."""
    out = tmp_path_factory.mktemp("math-layout")
    decks = build_slides(LESSONS, out)
    page = out / f"{MATH_LESSON.stem}.html"
    page.write_text(export(json.loads(MATH_LESSON.read_text()), "page", name=MATH_LESSON.name))
    control = out / "raw-latex.html"  # what the site showed before: math as LaTeX text
    control.write_text(
        '<div class="jp-MarkdownCell"><p>weights $w = \\operatorname{softmax}(s)$ and</p>'
        "<p>$$\\nabla_\\theta \\mathbb{E}[R] = \\sum_a R(a)$$</p></div>"
    )
    return {"page": page, "control": control, **{deck.name: deck for deck in decks}}


def open_page(chromium: Any, request: pytest.FixtureRequest, size: tuple[int, int]) -> Any:
    context = chromium.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    request.addfinalizer(lambda: _finish(request, page, context))
    return page


def _finish(request: pytest.FixtureRequest, page: Any, context: Any) -> None:
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(ARTIFACTS / f"{artifact_name(request.node)}.png"))
        except Exception as error:  # keep going: the failure itself is reported anyway
            (ARTIFACTS / f"{artifact_name(request.node)}.screenshot-error.txt").write_text(
                str(error)
            )
    context.close()


@pytest.fixture
def screen(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A 1280x720 page; a screenshot is saved if the test fails."""
    yield open_page(chromium, request, SCREENS["1280x720"])


def open_deck(page: Any, deck: Path) -> int:
    page.goto(deck.as_uri())
    page.wait_for_selector("body[data-layout=done]")
    return page.evaluate("() => window.coursePresenter.count()")


def assert_math_rendered(report: dict, where: str) -> None:
    maths = report["maths"]
    assert any(m["block"] for m in maths) and any(not m["block"] for m in maths), where
    assert all(m["width"] > 0 and m["height"] > 0 for m in maths), f"{where}: empty formulas"
    assert {m["display"] for m in maths} <= {"block math", "inline math", "math"}, (
        f"{where}: <math> not drawn as MathML: {sorted({m['display'] for m in maths})}"
    )
    assert report["fractions"] and all(report["fractions"]), f"{where}: fractions not stacked"
    assert "$" not in report["text"], f"{where}: raw $ left: {report['text'][:300]!r}"
    assert "\\" not in report["text"], f"{where}: raw LaTeX left"


def test_lesson_page_draws_display_and_inline_math(screen, built):
    screen.goto(built["page"].as_uri())
    report = screen.evaluate(MATH_JS)
    assert len(report["maths"]) > 30, "lesson 05's formulas"
    assert_math_rendered(report, MATH_LESSON.name)
    assert not screen.errors


def test_the_math_check_sees_raw_latex(screen, built):
    screen.goto(built["control"].as_uri())
    report = screen.evaluate(MATH_JS)
    assert report["maths"] == [] and "$" in report["text"], "negative control"


def test_a_slide_with_display_math_draws_it(screen, built):
    deck = built[f"{MATH_LESSON.stem}.slides.html"]
    count = open_deck(screen, deck)
    for index in range(count):
        screen.evaluate("(i) => window.coursePresenter.go(i, 'all')", index)
        slide = screen.locator(".slides > section.present > section.present")
        if slide.locator("math[display=block]").count() and slide.locator("mfrac").count():
            break
    else:
        pytest.fail(f"{deck.name}: no slide with display math and a fraction")
    report = slide.evaluate(MATH_JS)
    assert_math_rendered(report, f"{deck.name} slide {index + 1}")
    for math in slide.locator("math[display=block]").all():
        assert math.is_visible()
    assert not screen.errors


def check_deck(page: Any, deck: Path) -> tuple[list[str], list[str], int]:
    """(elements outside their slide, sub-slides scaled down, sub-slides) of a deck."""
    count = open_deck(page, deck)
    problems, zoomed = [], []
    for index in range(count):
        result = page.evaluate(OVERFLOW_JS, index)
        where = f"{deck.name} slide {index + 1}/{count}"
        problems += [f"{where}: {line}" for line in result["overflow"][:3]]
        if result["scrolls"]:
            problems.append(f"{where}: the slide scrolls")
        if result["zoom"]:
            zoomed.append(f"{where}: scaled to {result['zoom']}")
    if problems:  # leave the first bad slide on screen for the screenshot
        first = int(problems[0].split(" slide ")[1].split("/")[0]) - 1
        page.evaluate("(i) => window.coursePresenter.go(i, 'all')", first)
    return problems, zoomed, count


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem[:2])
def test_no_slide_element_leaves_its_slide(screen, built, lesson):
    problems, zoomed, count = check_deck(screen, built[f"{lesson.stem}.slides.html"])
    assert not problems, "\n".join(problems[:20])
    assert len(zoomed) <= max(2, count // 10), f"too many slides shrunk: {zoomed}"
    assert not screen.errors


def test_slides_fit_a_4_3_screen_too(chromium, request, built):
    # lesson 01: its first figure was cut off at the bottom of its slide
    page = open_page(chromium, request, SCREENS["1024x768"])
    problems, _, _ = check_deck(page, built["01_attention_recap.slides.html"])
    assert not problems, "\n".join(problems[:20])


def test_the_layout_check_sees_an_element_outside_its_slide(screen, built):
    open_deck(screen, built["01_attention_recap.slides.html"])
    screen.evaluate(
        """() => {
          window.coursePresenter.go(0, 'all');
          const slide = document.querySelector('.slides > section.present > section.present');
          const tall = document.createElement('div');
          tall.style.height = '3000px';
          tall.textContent = 'too tall';
          slide.appendChild(tall);
        }"""
    )
    result = screen.evaluate(OVERFLOW_JS, 0)
    assert any(line.startswith("div.") for line in result["overflow"]), "negative control"
    assert result["scrolls"]
