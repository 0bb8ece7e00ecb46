"""Drive the course in a real browser: a throw-away JupyterLab server and Debian's Chromium.

What the browser tests rely on, kept out of the test files so they read as checks:

- :class:`JupyterLab` starts ``jupyter lab`` on a free local port with temporary config,
  data, runtime, settings and workspace folders, serving a temporary *copy* of the lesson
  notebooks (nothing the browser does can write into the repository). Kernels import the
  ``course_lib`` of the tree under test (``PYTHONPATH``). Everything it started is ended by
  process id when it stops, and the server dies with the test process.
- :func:`launch_chromium` starts Chromium through Playwright's ``executable_path``
  (Playwright's own browser download is not available offline).
- :class:`NotebookPage` opens a notebook, waits for the kernel, runs all cells and reads what
  the page shows: error outputs, figures, and the widget *explorers* (see ``EXPLORER_JS``).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/lib/chromium/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
#: Seconds: generous, the tests run on 2 loaded cores.
SERVER_START_S = 120
UI_S = 60
KERNEL_S = 120
#: A lesson may take up to 2.5 min in a fresh kernel; leave room for a busy machine.
RUN_ALL_S = 800  # below make test's per-test timeout (900 s)
#: JupyterLab user settings that keep the page quiet and the DOM complete.
USER_SETTINGS = {
    # no "get Jupyter news?" toast, no update check
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # never write the (copied) notebook back
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    # every cell in the DOM, not only those in the viewport
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
_PR_SET_PDEATHSIG = 1
_PRCTL = ctypes.CDLL(None).prctl  # resolved here, so the child only makes the call


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """In the server process: get SIGKILL when the test process dies."""
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class BrowserTestError(RuntimeError):
    """The harness could not set the browser test up (not a failed check)."""


def chromium_missing_message() -> str:
    return (
        f"Chromium not found at {CHROMIUM}. Install Debian's browser with `make browser-deps` "
        "(apt-get install chromium fonts-dejavu-core; `make test` does it) or point "
        "COURSE_CHROMIUM at a Chromium binary."
    )


def launch_chromium(playwright: Any) -> Any:
    """Launch Chromium (headless) through Playwright with the flags that keep it offline."""
    if not CHROMIUM.exists():
        raise BrowserTestError(chromium_missing_message())
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )


def _processes_with_marker(marker: str) -> list[int]:
    """Process ids whose environment holds ``marker`` (the server and its kernels)."""
    needle = marker.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with suppress(OSError):
            if needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
    return found


@dataclass
class JupyterLab:
    """A JupyterLab server for one test session, serving a copy of ``course_dir``'s notebooks.

    ``root`` (the server's root folder) holds ``notebooks/`` (copies) and links to every other
    top-level entry of the course, so lessons find ``../exercises`` as they do in ``make lab``.
    Extra notebooks can be written under ``root`` by :meth:`add_notebook`.
    """

    course_dir: Path
    kernel_name: str = "attention-course"

    def __post_init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="course-browser-"))
        self.root = self.tmp / "root"
        self.token = secrets.token_hex(16)
        self.marker = f"COURSE_BROWSER_TEST={self.token}"
        self.process: subprocess.Popen | None = None
        self.base_url = ""
        self.log_path = self.tmp / "jupyterlab.log"

    # -- life cycle ---------------------------------------------------------------------
    def _prepare_root(self) -> None:
        self.root.mkdir()
        for entry in self.course_dir.iterdir():
            if entry.name in {"notebooks", ".git", ".venv"} or entry.name.startswith("."):
                continue
            (self.root / entry.name).symlink_to(entry)
        (self.root / "notebooks").mkdir()
        for notebook in self.course_dir.glob("notebooks/*.ipynb"):
            shutil.copy2(notebook, self.root / "notebooks" / notebook.name)

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("config", "data", "runtime", "ipython", "mpl"):
            (self.tmp / name).mkdir()
        env.update(
            JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
            JUPYTER_DATA_DIR=str(self.tmp / "data"),
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
            IPYTHONDIR=str(self.tmp / "ipython"),
            MPLCONFIGDIR=str(self.tmp / "mpl"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONPATH=os.pathsep.join(
                [str(self.course_dir), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        )
        key, value = self.marker.split("=", 1)
        env[key] = value
        return env

    def start(self) -> JupyterLab:
        self._prepare_root()
        settings = self.tmp / "settings"
        for name, values in USER_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port=0",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.allow_root=True",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.tmp / 'workspaces'}",
            "--LabApp.news_url=",
        ]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=self.root,
            env=self._environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - a single prctl call
        )
        log.close()
        info = self.tmp / "runtime" / f"jpserver-{self.process.pid}.json"
        deadline = time.monotonic() + SERVER_START_S
        while not info.exists():
            if self.process.poll() is not None:
                raise BrowserTestError(f"JupyterLab exited at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrowserTestError(f"JupyterLab did not start:\n{self.log_tail()}")
            time.sleep(0.2)
        while True:  # the file may be half-written
            with suppress(ValueError):
                self.base_url = json.loads(info.read_text())["url"]
                break
            time.sleep(0.1)
        self._wait_until_listening(deadline)
        return self

    def _wait_until_listening(self, deadline: float) -> None:
        while True:
            try:
                self.api("GET", "api/status")
                return
            except OSError as error:
                if time.monotonic() > deadline:
                    raise BrowserTestError(f"JupyterLab does not answer: {error}") from error
                time.sleep(0.2)

    def stop(self) -> None:
        """Shut the server down politely, then end every process it started, by id."""
        if self.process is not None and self.process.poll() is None:
            with suppress(OSError):
                self.api("POST", "api/shutdown", timeout=10)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        for pid in _processes_with_marker(self.marker):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> JupyterLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ------------------------------------------------------------------------
    def log_tail(self, chars: int = 4000) -> str:
        with suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def api(self, method: str, path: str, timeout: float = 30) -> Any:
        request = urllib.request.Request(
            self.base_url + path,
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method in {"POST", "PUT"} else None,
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End every kernel session (each opened notebook starts one)."""
        with suppress(OSError):
            for session in self.api("GET", "api/sessions"):
                with suppress(OSError):
                    self.api("DELETE", f"api/sessions/{session['id']}")

    def notebook_url(self, relative: str) -> str:
        # ``reset``: start from an empty layout, not the tabs the last test left open
        return f"{self.base_url}lab/tree/{relative}?reset&token={self.token}"

    def add_notebook(self, relative: str, notebook: dict) -> str:
        """Write ``notebook`` (nbformat JSON) under the server root; return its path there."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(notebook))
        return relative


# The notebook in the visible tab (other tabs may be open in the DOM, hidden).
CURRENT = (
    "([...document.querySelectorAll('.jp-NotebookPanel')].find((p) => p.checkVisibility())"
    " || document.createElement('div'))"
)

# Runs in the page. Finds every element with a CSS class ending in "-explorer", its
# controls (sliders, dropdowns) and a signature of what it shows *outside* the controls:
# the text and the images, so a slider's own read-out does not count as a change.
EXPLORER_JS = r"""
(action) => {
  const CONTROLS = '.widget-slider, .widget-dropdown';
  const isExplorer = (el) => [...el.classList].some((c) => c.endsWith('-explorer'));
  const nested = (el) => {
    for (let up = el.parentElement; up; up = up.parentElement) if (isExplorer(up)) return true;
    return false;
  };
  const explorers = [...CURRENT.querySelectorAll('.jp-OutputArea-output *')].filter(
    (el) => isExplorer(el) && !nested(el));
  const signature = (el) => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll(CONTROLS).forEach((c) => c.remove());
    const images = [...copy.querySelectorAll('img')].map((img) => img.src);
    const svgs = [...copy.querySelectorAll('svg')].map((svg) => svg.outerHTML);
    return JSON.stringify([copy.textContent, images, svgs]);
  };
  return explorers.map((el, index) => {
    el.setAttribute('data-explorer-index', String(index));
    const controls = [...el.querySelectorAll(CONTROLS)];
    controls.forEach((c, j) => c.setAttribute('data-control-index', String(j)));
    return {
      index,
      name: [...el.classList].find((c) => c.endsWith('-explorer')),
      controls: controls.map((c) => c.matches('.widget-slider') ? 'slider' : 'dropdown'),
      signature: signature(el),
    };
  });
}
""".replace("CURRENT", CURRENT)

# The error outputs JupyterLab shows: a traceback rendered as stderr text.
ERRORS_JS = r"""
() => [...CURRENT.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
  .map((el) => el.textContent)
  .filter((text) => /Traceback \(most recent call last\)|^\s*\w+(Error|Exception)\b/m.test(text))
""".replace("CURRENT", CURRENT)

# What each code cell's prompt says: "[3]:", "[*]:" (running) or "[ ]:" (never run).
PROMPTS_JS = r"""
() => [...CURRENT.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(
  (cell) => (cell.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim())
""".replace("CURRENT", CURRENT)

# The status bar's kernel item: "Python 3 (attention course) | Idle".
KERNEL_STATUS_JS = r"""
() => ([...document.querySelectorAll('.jp-StatusBar-TextItem')]
  .map((el) => el.textContent.trim())
  .find((text) => / \| \w+$/.test(text)) || '')
"""

# Every figure in the cells' own outputs (not inside a widget), and whether it decoded.
FIGURES_JS = r"""
() => [...CURRENT.querySelectorAll('.jp-Notebook .jp-OutputArea-output img')]
  .filter((img) => !img.closest('.jupyter-widgets'))
  .map((img) => ({loaded: img.complete && img.naturalWidth > 0, width: img.naturalWidth}))
""".replace("CURRENT", CURRENT)


@dataclass
class Explorer:
    index: int
    name: str
    controls: list[str]
    signature: str


class NotebookPage:
    """One notebook open in JupyterLab, in one Playwright page."""

    def __init__(self, page: Any, lab: JupyterLab, relative: str) -> None:
        self.page = page
        self.lab = lab
        self.relative = relative

    def open(self) -> NotebookPage:
        self.page.goto(self.lab.notebook_url(self.relative), timeout=UI_S * 1000)
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=UI_S * 1000)
        self.wait_for_kernel_idle()
        return self

    def kernel_status(self) -> tuple[str, str]:
        """(kernel display name, state) as the status bar shows them, e.g. ("Python 3", "Idle")."""
        name, _, state = self.page.evaluate(KERNEL_STATUS_JS).partition(" | ")
        return name, state

    def wait_for_kernel_idle(self, timeout_s: float = KERNEL_S) -> None:
        """Wait until a kernel (not "No Kernel") is connected and idle."""
        self.page.wait_for_function(
            f"""() => {{
                const [name, state] = ({KERNEL_STATUS_JS})().split(' | ');
                return name && name !== 'No Kernel' && state === 'Idle';
            }}""",
            timeout=timeout_s * 1000,
            polling=250,
        )

    def command(self, menu: str, item: str) -> None:
        """Click a main-menu item, as a learner would (e.g. ``Run`` → ``Run All Cells``)."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        self.page.locator(
            ".lm-Menu:not(.lm-mod-hidden) .lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")
        ).first.click()

    def run_all(self, timeout_s: float = RUN_ALL_S) -> None:
        """Clear every output, run every cell, wait until the kernel is idle with no cell left."""
        self.command("Edit", "Clear Outputs of All Cells")
        self.page.wait_for_function(
            f"() => ({PROMPTS_JS})().every((p) => p === '[ ]:' || p === '')",
            timeout=UI_S * 1000,
        )
        self.command("Run", "Run All Cells")
        self._wait_for_run(timeout_s)

    def _wait_for_run(self, timeout_s: float) -> None:
        # Running queues cells at once ("[*]:"); the run is over when none is queued and the
        # kernel is idle (after an error the kernel drops the rest of the queue).
        self.page.wait_for_function(
            f"() => ({PROMPTS_JS})().some((p) => p !== '[ ]:' && p !== '')",
            timeout=UI_S * 1000,
        )
        self.page.wait_for_function(
            f"""() => {{
                const busy = ({PROMPTS_JS})().some((p) => p === '[*]:');
                return !busy && ({KERNEL_STATUS_JS})().endsWith(' | Idle');
            }}""",
            timeout=timeout_s * 1000,
            polling=500,
        )

    def run_through(self, index: int, timeout_s: float = RUN_ALL_S) -> None:
        """Clear every output, then run cells 0..``index`` (Run → Run All Above Selected
        Cell, then Run Selected Cell and Do not Advance) and wait until the kernel is idle."""
        self.command("Edit", "Clear Outputs of All Cells")
        self.page.wait_for_function(
            f"() => ({PROMPTS_JS})().every((p) => p === '[ ]:' || p === '')",
            timeout=UI_S * 1000,
        )
        cell = self.page.locator(".jp-Notebook .jp-Cell").nth(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").click()
        self.page.wait_for_function(
            f"""() => {{
                const cells = document.querySelectorAll('.jp-Notebook .jp-Cell');
                return cells[{index}] && cells[{index}].classList.contains('jp-mod-active');
            }}""",
            timeout=UI_S * 1000,
        )
        if index > 0:
            self.command("Run", "Run All Above Selected Cell")
        self.command("Run", "Run Selected Cell and Do not Advance")
        self._wait_for_run(timeout_s)

    def prompts(self) -> list[str]:
        return self.page.evaluate(PROMPTS_JS)

    def errors(self) -> list[str]:
        return self.page.evaluate(ERRORS_JS)

    def figures(self) -> list[dict]:
        return self.page.evaluate(FIGURES_JS)

    def explorers(self) -> list[Explorer]:
        return [Explorer(**item) for item in self.page.evaluate(EXPLORER_JS, None)]

    def move_control(self, explorer: Explorer, control: int) -> str:
        """Move one control of an explorer to another value; return a description."""
        root = self.page.locator(f'[data-explorer-index="{explorer.index}"]')
        widget = root.locator(f'[data-control-index="{control}"]')
        if explorer.controls[control] == "slider":
            handle = widget.locator(".noUi-handle").first
            now = float(handle.get_attribute("aria-valuenow") or 0)
            top = float(handle.get_attribute("aria-valuemax") or 0)
            key = "ArrowLeft" if now >= top else "ArrowRight"
            handle.focus()
            handle.press(key)
            return f"slider {control} {key} from {now:g}"
        select = widget.locator("select")
        options = select.locator("option")
        current = select.evaluate("(s) => s.selectedIndex")
        target = 1 if current == 0 else 0
        if options.count() < 2:
            raise AssertionError(f"{explorer.name}: dropdown {control} has fewer than 2 options")
        select.select_option(index=target)
        return f"dropdown {control} option {current} -> {target}"

    def explorer_signature(self, explorer: Explorer) -> str:
        for item in self.page.evaluate(EXPLORER_JS, None):
            if item["index"] == explorer.index:
                return item["signature"]
        raise AssertionError(f"explorer {explorer.name} disappeared from the page")

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with suppress(Exception):
            self.page.screenshot(path=str(path), full_page=True)


# -- what a lesson notebook must show ----------------------------------------------------------

IMAGE_MIME = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
EXPLORER_SOURCE = re.compile(r"[-_]explorer\b")
CHANGE_S = 30


def committed_figures(notebook: dict, through: int | None = None) -> int:
    """How many image outputs the notebook file holds (in cells 0..``through``)."""
    cells = notebook["cells"] if through is None else notebook["cells"][: through + 1]
    return sum(
        1
        for cell in cells
        for output in cell.get("outputs", [])
        if any(mime in output.get("data", {}) for mime in IMAGE_MIME)
    )


def committed_errors(notebook: dict) -> list[str]:
    """``ename: evalue`` of every error output saved in the notebook file."""
    return [
        f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
        for index, cell in enumerate(notebook["cells"])
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


def _widget_models(notebook: dict) -> dict[str, dict]:
    state = notebook.get("metadata", {}).get("widgets", {})
    return state.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})


def _is_explorer_model(model_id: str, models: dict[str, dict], depth: int = 0) -> bool:
    """Whether a saved widget, or a widget inside it, has a ``*-explorer`` CSS class."""
    state = models.get(model_id, {}).get("state", {})
    if any(str(name).endswith("-explorer") for name in state.get("_dom_classes", [])):
        return True
    children = state.get("children", []) if depth < 20 else []
    return any(
        _is_explorer_model(str(child).removeprefix("IPY_MODEL_"), models, depth + 1)
        for child in children
    )


def explorer_cells(notebook: dict) -> list[int]:
    """Indices of the cells that show an explorer (a saved widget output with a ``*-explorer``
    class) or whose code names one (``add_class("x-explorer")``, ``x_explorer(...)``)."""
    models = _widget_models(notebook)
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        views = [
            output.get("data", {}).get("application/vnd.jupyter.widget-view+json", {})
            for output in cell.get("outputs", [])
        ]
        shows = any(_is_explorer_model(view.get("model_id", ""), models) for view in views)
        if shows or EXPLORER_SOURCE.search("".join(cell["source"])):
            found.append(index)
    return found


def expects_explorer(notebook: dict) -> bool:
    """Whether the notebook shows a widget explorer (see :func:`explorer_cells`; a saved
    explorer widget that no output shows counts too)."""
    models = _widget_models(notebook)
    return bool(explorer_cells(notebook)) or any(_is_explorer_model(key, models) for key in models)


def last_cell_to_run(notebook: dict) -> int:
    """The cells a browser run needs: up to the last cell that shows or names an explorer
    (everything, when no cell does)."""
    cells = explorer_cells(notebook)
    return cells[-1] if cells else len(notebook["cells"]) - 1


def code_cells_through(notebook: dict, index: int) -> int:
    return sum(cell["cell_type"] == "code" for cell in notebook["cells"][: index + 1])


def check_kernel(page: NotebookPage, notebook: dict) -> None:
    """The notebook asks for the course kernel and the page is connected to it."""
    spec = notebook.get("metadata", {}).get("kernelspec", {})
    assert spec.get("name") == page.lab.kernel_name, (
        f"kernelspec is {spec.get('name')!r}, expected the course kernel {page.lab.kernel_name!r}"
    )
    name, state = page.kernel_status()
    assert name == spec.get("display_name"), f"status bar shows kernel {name!r} ({state})"


def check_figures(page: NotebookPage, expected: int, at_least: bool = False) -> None:
    """The page shows ``expected`` figures (or more, with ``at_least``), each decoded."""
    figures = page.figures()
    if at_least:
        assert len(figures) >= expected, f"{len(figures)} figures on the page, expected {expected}+"
    else:
        assert len(figures) == expected, f"{len(figures)} figures on the page, expected {expected}"
    broken = [index for index, figure in enumerate(figures) if not figure["loaded"]]
    assert not broken, f"figures {broken} did not load (broken image data)"


def check_no_errors(page: NotebookPage) -> None:
    errors = page.errors()
    assert not errors, "error output on the page:\n" + "\n\n".join(errors)


def check_all_cells_ran(page: NotebookPage, code_cells: int | None = None) -> None:
    """After a run: every code cell (or the first ``code_cells``) has an execution count; a
    failing cell stops the run, so the cells after it have none."""
    prompts = page.prompts()[:code_cells]
    missing = [
        index for index, prompt in enumerate(prompts) if not re.fullmatch(r"\[\d+\]:", prompt)
    ]
    assert not missing, (
        f"code cells {missing} (of {len(prompts)}) did not run; prompts: {prompts}\n"
        + "\n".join(page.errors())
    )


def check_explorer(page: NotebookPage, explorer: Explorer, change_s: float = CHANGE_S) -> list[str]:
    """The explorer has a control, and moving each control changes what it shows (outside
    its controls) within ``change_s``. Returns what was done, for the test log."""
    assert explorer.controls, f"{explorer.name}: no slider or dropdown inside the explorer"
    log = []
    for control in range(len(explorer.controls)):
        before = page.explorer_signature(explorer)
        action = page.move_control(explorer, control)
        deadline = time.monotonic() + change_s
        while page.explorer_signature(explorer) == before:
            assert time.monotonic() < deadline, (
                f"{explorer.name}: {action} did not change what the explorer shows "
                f"within {change_s:g} s (is its callback connected and working?)"
            )
            time.sleep(0.25)
        log.append(f"{explorer.name}: {action} changed the output")
    return log


def check_explorers(page: NotebookPage, expected: bool, change_s: float = CHANGE_S) -> list[str]:
    """Every explorer on the page responds (:func:`check_explorer`); with ``expected``, at
    least one is shown."""
    explorers = page.explorers()
    if expected:
        assert explorers, (
            "the notebook creates a widget explorer, but none is shown after running it "
            "(no element with a CSS class ending in '-explorer': is the widget displayed, "
            "is the widgets extension working?)"
        )
    return [line for item in explorers for line in check_explorer(page, item, change_s)]
