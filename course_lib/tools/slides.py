"""Slides from the lesson notebooks (``make slides``), offline.

The notebooks carry no slide metadata; it is assigned here, at build time
(:func:`assign_slides`), so lesson authors never maintain it:

- a Markdown cell starting with ``#`` or ``##`` opens a new **slide**;
- a Markdown cell starting with ``###`` (or deeper), or any other Markdown cell, opens a
  **sub-slide** (reached with the Down arrow, or Right after the last fragment);
- a code cell is a **fragment** of the sub-slide above it (code and output appear on the
  next key press);
- an empty cell is skipped;
- a cell that already has ``slideshow.slide_type`` metadata keeps it (an author's override).

The HTML is nbconvert's reveal markup shown by a small presenter inlined in each page
(``templates/course_slides``): Right/Space = next, Left = back, Home/End; nothing is loaded
from the network. Math is MathML made at build time. Nothing leaves its slide: in the browser
the presenter measures each sub-slide and moves what does not fit to a "continued" sub-slide
(between cells, between a cell's code and its output, between Markdown blocks or list
items), scales down what still does not fit, and long code or output scrolls in its own box.

    python -m course_lib.tools.slides [--out build/slides] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import re
import sys
import time
from pathlib import Path

from course_lib.tools.html_export import ExportError, export, rewrite_links, titles

COURSE_DIR = Path(__file__).resolve().parents[2]
LESSON_GLOB = "notebooks/[0-9][0-9]_*.ipynb"
SLIDE_HEADING = re.compile(r"^#{1,2}\s")
SUBSLIDE_HEADING = re.compile(r"^#{3,6}\s")
SLIDE_TYPES = {"slide", "subslide", "fragment", "skip", "notes", "-"}


def slide_type(cell: dict) -> str:
    """The slide type of one notebook cell under the rules in the module docstring."""
    given = cell.get("metadata", {}).get("slideshow", {}).get("slide_type")
    if given is not None:
        if given not in SLIDE_TYPES:
            raise ValueError(f"slideshow.slide_type {given!r}: expected one of {SLIDE_TYPES}")
        return given
    source = "".join(cell.get("source", "")).strip()
    if not source:
        return "skip"
    if cell.get("cell_type") == "markdown":
        return "slide" if SLIDE_HEADING.match(source) else "subslide"
    if cell.get("cell_type") == "code":
        return "fragment"
    return "skip"  # raw cells


def assign_slides(notebook: dict) -> dict:
    """A copy of ``notebook`` (nbformat JSON) with ``metadata.slideshow.slide_type`` on every
    cell. The first shown cell always opens a slide."""
    if not notebook.get("cells"):
        raise ValueError("notebook has no cells: nothing to put on slides")
    result = copy.deepcopy(notebook)
    first = True
    for cell in result["cells"]:
        kind = slide_type(cell)
        if first and kind not in {"skip", "notes"}:
            kind, first = "slide", False
        cell.setdefault("metadata", {}).setdefault("slideshow", {})["slide_type"] = kind
    if first:
        raise ValueError("every cell is empty or skipped: nothing to put on slides")
    return result


def slides_html(
    path: Path,
    home: str = "index.html",
    source: str | None = None,
    output: str | None = None,
    pages: dict[str, str] | None = None,
) -> str:
    """The slides of one notebook as a self-contained HTML page. With ``source`` (its path
    in the repository), ``output`` (the page's path in the built folder) and ``pages``
    (repository path -> built path), links are pointed at the built pages
    (:func:`~course_lib.tools.html_export.rewrite_links`)."""
    try:
        notebook = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ExportError(f"{path}: not a readable notebook: {error}") from error
    page = export(assign_slides(notebook), "slides", {"course_home": home}, name=str(path))
    if source is not None and output is not None:
        page = rewrite_links(page, source, output, pages or {})
    return page


def index_html(entries: list[tuple[str, str]], title: str = "Lesson slides") -> str:
    """A plain page listing (link, title) pairs."""
    items = "\n".join(
        f'<li><a href="{html.escape(link)}">{html.escape(text)}</a></li>' for link, text in entries
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n"
        f"<p>Open a lesson; keys: Right/Space next, Left back, Home/End.</p>\n"
        f"<ul>\n{items}\n</ul>\n</body>\n</html>\n"
    )


def build_slides(
    notebooks: list[Path],
    out: Path,
    home: str = "index.html",
    pages: dict[str, str] | None = None,
    prefix: str = "",
) -> list[Path]:
    """Write ``<stem>.slides.html`` for each notebook into ``out``; return the files.

    Alone (``pages`` is None) it also writes an ``index.html`` listing the decks, links
    between lessons go to their decks and other links become plain text. Inside the course
    site, ``pages`` maps repository paths to site paths and ``prefix`` is ``out``'s path in
    the site (``"slides/"``)."""
    if not notebooks:
        raise ValueError("no notebooks to build slides from")
    out.mkdir(parents=True, exist_ok=True)
    decks = {f"notebooks/{path.name}": f"{prefix}{path.stem}.slides.html" for path in notebooks}
    links = decks if pages is None else pages
    written = []
    for path in notebooks:
        source = f"notebooks/{path.name}"
        target = out / f"{path.stem}.slides.html"
        target.write_text(
            slides_html(path, home, source=source, output=decks[source], pages=links),
            encoding="utf-8",
        )
        written.append(target)
    if pages is None:
        names = titles(notebooks)
        entries = [
            (target.name, names[path]) for path, target in zip(notebooks, written, strict=True)
        ]
        (out / "index.html").write_text(index_html(entries), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.tools.slides", description=__doc__.split("\n")[0]
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help=f"default: {LESSON_GLOB}")
    parser.add_argument("--out", type=Path, default=COURSE_DIR / "build" / "slides")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(COURSE_DIR.glob(LESSON_GLOB))
    missing = [str(path) for path in notebooks if not path.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    start = time.monotonic()
    try:
        written = build_slides(notebooks, args.out)
    except (ExportError, ValueError) as error:
        print(f"slides: {error}", file=sys.stderr)
        return 1
    seconds = time.monotonic() - start
    print(f"wrote {len(written)} slide decks to {args.out}/ in {seconds:.1f} s (open index.html)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
