"""The built slides and site pages in a real browser, opened from disk: they request nothing
from the network, raise no script error, decode every figure, and the slide keys work."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from course_lib.tools.html_export import export
from course_lib.tools.slides import build_slides

COURSE_DIR = Path(__file__).resolve().parents[2]
LESSONS = sorted(COURSE_DIR.glob("notebooks/[0-9][0-9]_*.ipynb"))


def figure_count(path: Path) -> int:
    cells = json.loads(path.read_text())["cells"]
    return sum("image/png" in out.get("data", {}) for c in cells for out in c.get("outputs", []))


#: The lesson with the most figures: the heaviest page to show.
LESSON = max(LESSONS, key=figure_count)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("offline")
    (deck,) = build_slides([LESSON], out)
    page = out / f"{LESSON.stem}.html"
    page.write_text(export(json.loads(LESSON.read_text()), "page", name=LESSON.name))
    return {"slides": deck, "page": page, "index": out / "index.html"}


@pytest.fixture
def browser_page(chromium):
    """A page that records every request and every script error."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def assert_offline(page) -> None:
    remote = [url for url in page.requests if not url.startswith(("file:", "data:"))]
    assert not remote, f"requests to the network: {remote[:5]}"
    assert not page.errors, f"script errors: {page.errors}"


def test_lesson_page_shows_its_figures_offline(browser_page, pages):
    browser_page.goto(pages["page"].as_uri())
    images = browser_page.evaluate(
        "() => [...document.images].map((img) => img.complete && img.naturalWidth > 0)"
    )
    assert len(images) >= figure_count(LESSON) and all(images)
    assert_offline(browser_page)


def test_slides_navigate_with_the_keyboard_offline(browser_page, pages):
    browser_page.goto(pages["slides"].as_uri())
    browser_page.wait_for_selector("body[data-layout=done]")  # long slides split by then
    state = "() => [document.body.dataset.slide, document.body.dataset.fragment]"
    counter = browser_page.locator(".slide-counter")
    total = int(counter.inner_text().split("/")[1])
    assert total > 3 and browser_page.evaluate(state) == ["0", "0"]
    visible = browser_page.locator("section.present > section.present")
    first = visible.inner_text()

    seen = {tuple(browser_page.evaluate(state))}
    for _ in range(6):
        browser_page.keyboard.press("ArrowRight")
        seen.add(tuple(browser_page.evaluate(state)))
    assert len(seen) == 7, f"every key press must move on: {seen}"
    assert visible.count() == 1 and browser_page.evaluate(state)[0] != "0"

    browser_page.keyboard.press("End")
    assert counter.inner_text() == f"{total} / {total}"
    browser_page.keyboard.press("Home")
    assert counter.inner_text() == f"1 / {total}" and visible.inner_text() == first
    browser_page.locator(".slide-next").click()
    assert browser_page.evaluate(state) != ["0", "0"]
    images = browser_page.evaluate(
        "() => [...document.images].map((img) => img.complete && img.naturalWidth > 0)"
    )
    assert images and all(images)
    assert_offline(browser_page)


def test_slides_index_links_the_deck(browser_page, pages):
    browser_page.goto(pages["index"].as_uri())
    browser_page.locator(f'a[href="{pages["slides"].name}"]').click()
    browser_page.wait_for_url(re.compile(re.escape(pages["slides"].name)))
    assert browser_page.locator(".slide-counter").inner_text().startswith("1 / ")
    assert_offline(browser_page)
