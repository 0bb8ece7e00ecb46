"""Offline HTML from notebooks, shared by the course site (``site.py``) and slides (``slides.py``).

- :func:`exporter` configures nbconvert with the course's templates (``templates/``): pages
  and slides that load nothing from the network (no require.js, MathJax, mermaid or widget
  renderer from a CDN); Markdown math becomes MathML at build time, which browsers draw.
- :func:`snapshot_widgets` replaces each ipywidget output by a static snapshot of its saved
  state (the figure an ``Output`` widget showed, the text of ``HTML`` and ``Label`` widgets,
  the values of sliders and dropdowns), so explorers and progress bars read well offline.
- :func:`external_sources` and :func:`broken_links` check built HTML: nothing fetched from
  another host, every relative link and ``#fragment`` pointing at something that exists.
"""

from __future__ import annotations

import copy
import functools
import html
import posixpath
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

TEMPLATES = Path(__file__).resolve().parent / "templates"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: Widget models whose ``children`` are shown in order.
BOXES = {"VBoxModel", "HBoxModel", "BoxModel", "GridBoxModel", "AccordionModel", "TabModel"}
#: Widget models shown as "description: value".
CONTROLS = {
    "IntSliderModel",
    "FloatSliderModel",
    "FloatLogSliderModel",
    "IntRangeSliderModel",
    "FloatRangeSliderModel",
    "SelectionSliderModel",
    "DropdownModel",
    "ToggleButtonsModel",
    "RadioButtonsModel",
    "SelectModel",
    "CheckboxModel",
    "ToggleButtonModel",
    "IntTextModel",
    "FloatTextModel",
    "BoundedIntTextModel",
    "BoundedFloatTextModel",
    "TextModel",
}
SNAPSHOT_NOTE = (
    "A static snapshot of an interactive widget: run the notebook in JupyterLab to use it."
)


class ExportError(RuntimeError):
    """A notebook could not be turned into HTML; the message names the notebook."""


# -- nbconvert --------------------------------------------------------------------------------


def _with_mathml(base: type) -> type:
    """``base`` (an nbconvert HTML exporter) whose Markdown filter writes math as MathML."""
    from jinja2 import pass_context

    from course_lib.tools.mathml import markdown_to_html

    class WithMathML(base):  # type: ignore[misc, valid-type]
        @pass_context
        def markdown2html(self, context: Any, source: str) -> str:
            cell = context.get("cell", {})
            return markdown_to_html(
                source,
                attachments=cell.get("attachments", {}),
                embed_images=self.embed_images,
                path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                anchor_link_text=self.anchor_link_text,
                exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )

    WithMathML.__name__ = f"{base.__name__}WithMathML"
    return WithMathML


@functools.cache
def exporter(kind: str) -> Any:
    """An nbconvert exporter for ``kind`` = ``"page"`` (a site page) or ``"slides"``, with
    Markdown math converted to MathML (:mod:`course_lib.tools.mathml`)."""
    from nbconvert import HTMLExporter, SlidesExporter

    common = {"extra_template_basedirs": [str(TEMPLATES)], "embed_images": True}
    if kind == "page":
        return _with_mathml(HTMLExporter)(template_name="course_page", **common)
    if kind == "slides":
        return _with_mathml(SlidesExporter)(template_name="course_slides", **common)
    raise ValueError(f"kind: expected 'page' or 'slides', got {kind!r}")


def export(
    notebook: dict,
    kind: str,
    resources: dict | None = None,
    name: str = "",
    title: str | None = None,
) -> str:
    """HTML for ``notebook`` (nbformat JSON) with widgets snapshotted; ``resources`` may set
    ``course_header`` / ``course_footer`` (HTML) and ``course_home`` (a link, slides). The
    page's ``<title>`` is ``title``, else the notebook's first heading (:func:`notebook_title`),
    never nbconvert's "Notebook"."""
    import json

    import nbformat

    # reads() joins list-of-lines sources as nbconvert expects
    node = nbformat.reads(json.dumps(snapshot_widgets(notebook)), as_version=4)
    node.metadata["title"] = title or notebook_title(notebook) or name or "Notebook"
    try:
        body, _ = exporter(kind).from_notebook_node(node, resources=dict(resources or {}))
    except Exception as error:  # nbconvert raises many kinds; name the notebook
        raise ExportError(f"{name or 'notebook'}: nbconvert failed: {error}") from error
    return body


# -- widget snapshots -------------------------------------------------------------------------


def _models(notebook: dict) -> dict[str, dict]:
    state = notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {})
    return state.get("state", {})


def _model_id(reference: Any) -> str:
    return str(reference).removeprefix("IPY_MODEL_")


def _output_html(output: dict) -> str:
    """One saved output (inside an ``Output`` widget) as HTML."""
    data = output.get("data", {})
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            payload = "".join(data[mime]) if isinstance(data[mime], list) else data[mime]
            return f'<img src="data:{mime};base64,{payload.strip()}" alt="figure">'
    if "image/svg+xml" in data:
        svg = data["image/svg+xml"]
        return "".join(svg) if isinstance(svg, list) else svg
    if "text/html" in data:
        value = data["text/html"]
        return "".join(value) if isinstance(value, list) else value
    text = output.get("text") or data.get("text/plain") or ""
    text = "".join(text) if isinstance(text, list) else text
    return f"<pre>{html.escape(text)}</pre>" if text else ""


def _control_value(state: dict) -> str:
    if "index" in state and state.get("_options_labels"):
        labels, index = state["_options_labels"], state["index"]
        if isinstance(index, int) and 0 <= index < len(labels):
            return str(labels[index])
    return str(state.get("value", ""))


def widget_html(model_id: str, models: dict[str, dict], depth: int = 0) -> tuple[str, bool]:
    """(static HTML for a widget and its children, whether it holds an interactive control)."""
    model = models.get(model_id)
    if model is None or depth > 20:
        return "", False
    name, state = model.get("model_name", ""), model.get("state", {})
    if name in BOXES:
        parts = [widget_html(_model_id(child), models, depth + 1) for child in state["children"]]
        inner = "".join(part for part, _ in parts)
        tag = "div" if name != "HBoxModel" else 'div style="display:flex;gap:0.8em"'
        return f"<{tag}>{inner}</div>", any(control for _, control in parts)
    if name == "OutputModel":
        return "".join(_output_html(output) for output in state.get("outputs", [])), False
    if name in {"HTMLModel", "HTMLMathModel"}:
        return f"<div>{state.get('value', '')}</div>", False
    if name == "LabelModel":
        return f"<div>{html.escape(str(state.get('value', '')))}</div>", False
    if name in CONTROLS:
        label = html.escape(str(state.get("description", "")))
        value = html.escape(_control_value(state))
        text = f"{label}: {value}" if label else value
        return f'<div class="widget-snapshot-control">{text}</div>', True
    return "", False


def snapshot_widgets(notebook: dict) -> dict:
    """A copy of ``notebook`` whose widget outputs are static HTML snapshots of their saved
    state, without the widget-state metadata (so no widget renderer is needed)."""
    result = copy.deepcopy(notebook)
    models = _models(result)
    for cell in result.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            body, interactive = widget_html(_model_id(data[WIDGET_VIEW].get("model_id")), models)
            if not body:  # no saved state: keep the text fallback
                data.pop(WIDGET_VIEW)
                continue
            note = f'<div class="widget-snapshot-note">{SNAPSHOT_NOTE}</div>' if interactive else ""
            data.clear()
            data["text/html"] = f'<div class="widget-snapshot">{note}{body}</div>'
    result.get("metadata", {}).pop("widgets", None)
    return result


# -- checks on built HTML ---------------------------------------------------------------------

_SOURCE_ATTRS = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "embed": "src",
    "source": "src",
    "audio": "src",
    "video": "src",
    "track": "src",
    "input": "src",
    "object": "data",
}
_CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""", re.I)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


def _is_remote(url: str) -> bool:
    url = url.strip().lower()
    return url.startswith(("http://", "https://", "//", "ftp://"))


class _Scanner(HTMLParser):
    """Collects what a page fetches, what it links to and which ids it defines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self._in_style = False
        self._style: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(values[key])
        if tag in _SOURCE_ATTRS and values.get(_SOURCE_ATTRS[tag]):
            self.sources.append(values[_SOURCE_ATTRS[tag]])
        if tag == "link" and values.get("href"):
            rel = values.get("rel", "").lower()
            (self.sources if rel != "alternate" else self.links).append(values["href"])
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if values.get("style"):
            self._style.append(values["style"])
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._style.append(data)

    def css_sources(self) -> list[str]:
        css = _CSS_COMMENT.sub("", "\n".join(self._style))
        return _CSS_URL.findall(css)


def scan(page: str) -> _Scanner:
    scanner = _Scanner()
    scanner.feed(page)
    scanner.close()
    return scanner


def external_sources(page: str) -> list[str]:
    """Every resource ``page`` would fetch from another host (scripts, styles, images,
    frames, CSS ``url()``/``@import``). Links a reader may click (``<a href>``) are fine."""
    scanner = scan(page)
    return [url for url in scanner.sources + scanner.css_sources() if _is_remote(url)]


def _local_target(url: str) -> tuple[str, str] | None:
    """(path, fragment) of a link inside the site, or None for other schemes / hosts. The
    fragment stays as written (browsers try it as written, then percent-decoded)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or url.startswith("//"):
        return None
    return unquote(parts.path), parts.fragment


def broken_links(root: Path) -> list[str]:
    """Every relative link or source in ``root``'s HTML pages that points at no file, and
    every ``#fragment`` that names no id in its target page."""
    pages = {path: scan(path.read_text(encoding="utf-8")) for path in root.rglob("*.html")}
    problems = []
    for page, scanner in sorted(pages.items()):
        for url in scanner.links + scanner.sources:
            target = _local_target(url)
            if target is None or url.startswith("data:"):
                continue
            path, fragment = target
            resolved = (page.parent / path).resolve() if path else page.resolve()
            where = page.relative_to(root).as_posix()
            if not resolved.is_relative_to(root.resolve()):
                problems.append(f"{where}: {url} leaves the site")
            elif not resolved.exists():
                problems.append(f"{where}: {url} points at no file")
            elif fragment and resolved.suffix == ".html":
                ids = pages.get(resolved, None)
                ids = ids.ids if ids is not None else scan(resolved.read_text()).ids
                if fragment not in ids and unquote(fragment) not in ids:
                    problems.append(f"{where}: {url}: no id {fragment!r} in the target page")
    return problems


# -- links between pages ----------------------------------------------------------------------

_ANCHOR = re.compile(r'<a\b([^>]*?)\bhref="([^"]*)"([^>]*)>(.*?)</a>', re.S)


def rewrite_links(page: str, source: str, output: str, pages: dict[str, str]) -> str:
    """Point the links of a page built from repository file ``source`` (e.g.
    ``notebooks/01_x.ipynb``) at the site: ``pages`` maps repository paths to site paths
    (``exercises/01_y.ipynb`` -> ``exercises/01_y.html``); ``output`` is this page's site path.
    A link to a repository file that is not on the site becomes plain text (its title says
    where the file is), so the site has no broken links. Links marked ``data-site-link``
    (the site's own navigation) are already site paths and stay as they are."""
    here = posixpath.dirname(source)
    out_dir = posixpath.dirname(output)

    def replace(match: re.Match) -> str:
        before, url, after, text = match.groups()
        if "data-site-link" in before + after:
            return match.group(0)
        target = _local_target(html.unescape(url))
        if target is None or not target[0] or url.startswith(("data:", "mailto:")):
            return match.group(0)
        path, fragment = target
        resolved = posixpath.normpath(posixpath.join(here, path))
        if resolved in pages:
            new = posixpath.relpath(pages[resolved], out_dir or ".")
            new += f"#{fragment}" if fragment else ""
            return f'<a{before}href="{html.escape(new)}"{after}>{text}</a>'
        title = html.escape(f"in the course repository: {resolved}")
        return f'<span class="repo-file" title="{title}">{text}</span>'

    return _ANCHOR.sub(replace, page)


_HEADING = re.compile(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_FENCE = re.compile(r"^\s*(```|~~~)")
#: LaTeX commands spelled as the symbol in a plain-text title.
_PLAIN_SYMBOLS = {"times": "×", "cdot": "·", "le": "≤", "ge": "≥", "approx": "≈", "to": "→"}


def markdown_title(text: str) -> str | None:
    """The first heading of Markdown ``text`` (outside code blocks), or None."""
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and (match := _HEADING.match(line)):
            return match.group(1)
    return None


def notebook_title(notebook: dict) -> str | None:
    """The first Markdown heading of ``notebook`` (nbformat JSON) as plain text, or None."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            heading = markdown_title("".join(source) if isinstance(source, list) else source)
            if heading:
                return plain_title(heading)
    return None


def _plain_math(latex: str) -> str:
    latex = re.sub(r"\\sqrt\s*\{([^{}]*)\}|\\sqrt\s*(\w)", lambda m: "√" + (m[1] or m[2]), latex)
    latex = re.sub(r"\\([A-Za-z]+)", lambda m: _PLAIN_SYMBOLS.get(m[1], m[1]), latex)
    return latex.replace("{", "").replace("}", "")


def plain_title(heading: str) -> str:
    """A Markdown heading as plain text for a ``<title>``: no backticks, emphasis, link
    syntax or ``$`` (``$\\sqrt d$`` reads √d)."""
    text = re.sub(r"\$([^$]+)\$", lambda match: _plain_math(match[1]), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[`*]", "", text)
    return " ".join(text.split())


def titles(notebooks: Iterable[Path]) -> dict[Path, str]:
    """The title of each notebook (its first Markdown heading, as plain text), or its file
    name."""
    import json

    return {path: notebook_title(json.loads(path.read_text())) or path.stem for path in notebooks}
