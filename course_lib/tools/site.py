"""The course site (``make site``): static HTML that works offline, from the repository.

    build/site/index.html                  home: lessons, slides, exercises, teaching kit
    build/site/notebooks/NN_*.html         the executed lessons (committed outputs)
    build/site/slides/NN_*.slides.html     the lessons as slides (see ``slides.py``)
    build/site/exercises/NN_*.html         the learner notebooks (never the solutions)
    build/site/teaching/*.html             syllabus, instructor notes, running a class
    build/site/README.html                 the README (and BENCHMARKS.html when present)

Nothing on a page is fetched from the network (no CDN scripts, styles, fonts or images;
math stays LaTeX text), widgets are static snapshots of their saved state, and links
between repository files point at their pages; links to files that are not on the site
(e.g. ``solutions/``) become plain text. :func:`check_site` verifies all of it.

    python -m course_lib.tools.site [--out build/site] [--no-slides]
"""

from __future__ import annotations

import argparse
import html
import json
import posixpath
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from course_lib.tools.html_export import (
    ExportError,
    broken_links,
    export,
    external_sources,
    rewrite_links,
    titles,
)
from course_lib.tools.slides import LESSON_GLOB, build_slides

COURSE_DIR = Path(__file__).resolve().parents[2]
COURSE_TITLE = "Attention, from recap to Grad-CAM"
#: Markdown files of the repository that become pages (when they exist).
DOCUMENTS = ["README.md", "BENCHMARKS.md", "teaching/*.md"]


@dataclass
class Site:
    """What a build wrote: site paths of each kind of page, and the seconds it took."""

    out: Path
    lessons: list[str] = field(default_factory=list)
    slides: list[str] = field(default_factory=list)
    exercises: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def pages(self) -> list[str]:
        return ["index.html", *self.lessons, *self.slides, *self.exercises, *self.documents]


def _html_name(path: str) -> str:
    return str(Path(path).with_suffix(".html").as_posix())


def plan(course_dir: Path) -> dict[str, str]:
    """Repository path -> site path of every page built from a repository file."""
    pages: dict[str, str] = {}
    for path in sorted(course_dir.glob(LESSON_GLOB)):
        pages[f"notebooks/{path.name}"] = f"notebooks/{path.stem}.html"
    for path in sorted(course_dir.glob("exercises/*.ipynb")):
        pages[f"exercises/{path.name}"] = f"exercises/{path.stem}.html"
    for pattern in DOCUMENTS:
        for path in sorted(course_dir.glob(pattern)):
            relative = path.relative_to(course_dir).as_posix()
            pages[relative] = _html_name(relative)
    return pages


def _relative(target: str, page: str) -> str:
    return posixpath.relpath(target, posixpath.dirname(page) or ".")


def navigation(page: str, lessons: list[tuple[str, str]], teaching: list[str]) -> str:
    """The bar at the top of every page (links relative to ``page``)."""
    home = _relative("index.html", page)
    links = [f'<a data-site-link class="course-title" href="{home}">{COURSE_TITLE}</a>']
    for target, title in lessons:
        number = Path(target).stem[:2]
        links.append(
            f'<a data-site-link href="{_relative(target, page)}" '
            f'title="{html.escape(title)}">{number}</a>'
        )
    if teaching:
        links.append(f'<a data-site-link href="{_relative(teaching[0], page)}">teaching</a>')
    return f'<nav class="course-nav">{" ".join(links)}</nav>'


def pager(page: str, lessons: list[tuple[str, str]]) -> str:
    """Previous / next lesson links under a lesson page."""
    order = [target for target, _ in lessons]
    if page not in order:
        return ""
    index = order.index(page)
    parts = []
    for step, arrow in ((-1, "&larr; "), (1, "")):
        if 0 <= index + step < len(order):
            target, title = lessons[index + step]
            text = f"{arrow}{html.escape(title)}" + (" &rarr;" if step > 0 else "")
            parts.append(f'<a data-site-link href="{_relative(target, page)}">{text}</a>')
        else:
            parts.append("<span></span>")
    return f'<nav class="course-pager">{"".join(parts)}</nav>'


def markdown_notebook(text: str) -> dict:
    """A one-cell notebook, so Markdown documents go through the same page template."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [{"cell_type": "markdown", "id": "doc", "metadata": {}, "source": text}],
    }


def home_markdown(
    course_dir: Path, pages: dict[str, str], slides: dict[str, str], teaching: list[str]
) -> str:
    """The home page (Markdown with repository paths; links are rewritten like any page)."""
    lessons = sorted(course_dir.glob(LESSON_GLOB))
    names = titles(lessons)
    lines = [
        f"# {COURSE_TITLE}",
        "",
        "An open course on attention in deep learning with PyTorch in Jupyter. This site shows "
        "the lessons as they were last executed; to run them, clone the course and "
        "`make lab` (see the [README](README.md)). Math is shown as LaTeX source here; "
        "widgets are static snapshots (they respond in JupyterLab).",
        "",
        "## Lessons",
        "",
        "| lesson | slides | exercises |",
        "|---|---|---|",
    ]
    by_number = {path.stem[:2]: path for path in lessons}
    numbers = sorted(set(by_number) | {p.stem[:2] for p in course_dir.glob("exercises/*.ipynb")})
    for number in numbers:
        exercises = [
            f"[{exercise.stem}](exercises/{exercise.name})"
            for exercise in sorted(course_dir.glob(f"exercises/{number}_*.ipynb"))
        ]
        path = by_number.get(number)
        if path is None:  # exercises that are out before their lesson
            lines.append(f"| lesson {number} (coming) | | {', '.join(exercises)} |")
            continue
        key = f"notebooks/{path.name}"
        deck = f"[slides]({slides[key]})" if key in slides else ""
        lines.append(f"| [{names[path]}]({key}) | {deck} | {', '.join(exercises) or '-'} |")
    if teaching:
        lines += ["", "## For teachers", ""]
        for document in teaching:
            title = Path(document).stem.replace("-", " ").replace("_", " ")
            lines.append(f"- [{'teaching kit' if title == 'README' else title}]({document})")
    if "BENCHMARKS.md" in pages:
        lines += ["", "Measured run times and headline numbers: [BENCHMARKS](BENCHMARKS.md)."]
    return "\n".join(lines) + "\n"


def build_site(
    course_dir: Path = COURSE_DIR, out: Path | None = None, with_slides: bool = True
) -> Site:
    """Build the site into ``out`` (default ``build/site``), replacing what was there."""
    start = time.monotonic()
    out = out or course_dir / "build" / "site"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    pages = plan(course_dir)
    lesson_paths = sorted(course_dir.glob(LESSON_GLOB))
    if not lesson_paths:
        raise ExportError(f"no lessons found ({LESSON_GLOB}) in {course_dir}")
    names = titles(lesson_paths)
    lessons = [(pages[f"notebooks/{path.name}"], names[path]) for path in lesson_paths]
    teaching = sorted(
        (site for source, site in pages.items() if source.startswith("teaching/")),
        key=lambda site: (not site.endswith("README.html"), site),
    )
    site = Site(out=out)

    slide_pages: dict[str, str] = {}
    if with_slides:
        slide_pages = {f"notebooks/{p.name}": f"slides/{p.stem}.slides.html" for p in lesson_paths}
        for path in build_slides(
            lesson_paths, out / "slides", home="../index.html", pages=pages, prefix="slides/"
        ):
            site.slides.append(path.relative_to(out).as_posix())

    # the home page links slide decks by their site paths
    links = {**pages, **{deck: deck for deck in slide_pages.values()}}

    def write(source: str, target: str, notebook: dict) -> None:
        resources = {
            "course_header": navigation(target, lessons, teaching),
            "course_footer": pager(target, lessons),
        }
        body = export(notebook, "page", resources, name=source)
        body = rewrite_links(body, source, target, links)
        (out / target).parent.mkdir(parents=True, exist_ok=True)
        (out / target).write_text(body, encoding="utf-8")

    for source, target in pages.items():
        path = course_dir / source
        if source.endswith(".ipynb"):
            try:
                notebook = json.loads(path.read_text())
            except json.JSONDecodeError as error:
                raise ExportError(f"{source}: not a readable notebook: {error}") from error
        else:
            notebook = markdown_notebook(path.read_text())
        write(source, target, notebook)
        kind = source.split("/", 1)[0]
        bucket = {"notebooks": site.lessons, "exercises": site.exercises}.get(kind, site.documents)
        bucket.append(target)

    home = home_markdown(
        course_dir,
        pages,
        slide_pages,
        [source for source, target in pages.items() if source.startswith("teaching/")],
    )
    write("index.md", "index.html", markdown_notebook(home))
    site.seconds = time.monotonic() - start
    return site


def check_site(site: Site) -> list[str]:
    """Problems with a built site: missing pages, anything fetched from another host,
    relative links (and ``#fragments``) that point at nothing."""
    problems = [f"{page}: missing" for page in site.pages() if not (site.out / page).is_file()]
    for page in sorted(site.out.rglob("*.html")):
        for url in external_sources(page.read_text(encoding="utf-8")):
            problems.append(f"{page.relative_to(site.out)}: loads {url} from the network")
    return problems + broken_links(site.out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.tools.site", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", type=Path, default=COURSE_DIR / "build" / "site")
    parser.add_argument("--no-slides", action="store_true", help="skip the slide decks")
    args = parser.parse_args(argv)
    try:
        site = build_site(COURSE_DIR, args.out, with_slides=not args.no_slides)
    except (ExportError, ValueError, OSError) as error:
        print(f"site: {error}", file=sys.stderr)
        return 1
    problems = check_site(site)
    for problem in problems:
        print(f"site: {problem}", file=sys.stderr)
    print(
        f"wrote {len(site.pages())} pages to {args.out}/ in {site.seconds:.1f} s "
        f"({len(site.lessons)} lessons, {len(site.slides)} slide decks, "
        f"{len(site.exercises)} exercises, {len(site.documents)} documents); "
        f"{len(problems)} problems. Open {args.out / 'index.html'}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
