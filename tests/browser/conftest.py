"""Fixtures for the real-browser tests: one JupyterLab server and one Chromium per session,
a fresh page per test, a screenshot and the server log in ``test-artifacts/`` on failure.

Without Chromium the tests are skipped, unless ``COURSE_REQUIRE_BROWSER=1`` (set by
``make test``, which installs Chromium first): then a missing browser is an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import CHROMIUM, UI_S, JupyterLab, chromium_missing_message, launch_chromium

COURSE_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("COURSE_TEST_ARTIFACTS", COURSE_DIR / "test-artifacts")) / "browser"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(chromium_missing_message(), pytrace=False)
    pytest.skip(chromium_missing_message())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Keep each phase's report on the item so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def lab() -> Iterator[JupyterLab]:
    _require_chromium()
    server = JupyterLab(COURSE_DIR)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


def artifact_name(item: pytest.Item) -> str:
    return re.sub(r"[^\w.-]+", "_", item.nodeid.split("::", 1)[-1])


@pytest.fixture
def lab_page(request: pytest.FixtureRequest, chromium: Any, lab: JupyterLab) -> Iterator[Any]:
    """A fresh browser page; on failure its screenshot and the server log are saved."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    browser_page = context.new_page()
    browser_page.set_default_timeout(UI_S * 1000)
    try:
        yield browser_page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = artifact_name(request.node)
            try:
                browser_page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            except Exception as error:  # the page may be gone; keep the log anyway
                (ARTIFACTS / f"{name}.screenshot-error.txt").write_text(str(error))
            (ARTIFACTS / f"{name}.jupyterlab.log").write_text(lab.log_tail(20000))
        context.close()
        lab.shutdown_kernels()
