"""The course site (``make site``): static HTML that works offline, from the repository.

Two editions. The **student site** (the default, ``build/site``) is what a class may see:
lessons, slides, exercises (each with its ``.ipynb`` to download), the syllabus, the project
brief, the set-up guide and the README without its teachers' and developers' sections. The
**teacher's edition** (``--teacher``, ``build/site-teacher``) adds the whole teaching kit:
instructor notes with their common-mistake tables, running a class (the grader, hidden
tests, feedback), the calendar and policy templates. :data:`STUDENT_DOCUMENTS` is the list
of what students get; a document not on it is the teacher's.

    index.html                  home: lessons, slides, exercises, documents
    notebooks/NN_*.html         the executed lessons (committed outputs)
    slides/NN_*.slides.html     the lessons as slides (see ``slides.py``)
    exercises/NN_*.html         the learner notebooks (never the solutions) ...
    exercises/NN_*.ipynb        ... and the notebooks themselves, to download
    teaching/*.html             student: syllabus, project, set-up; teacher: the whole kit
    README.html                 the README (and BENCHMARKS.html when present)

Nothing on a page is fetched from the network (no CDN scripts, styles, fonts or images;
math is MathML made at build time), widgets are static snapshots of their saved state, every
page's title is its notebook's or document's title, and links between repository files point
at their pages; links to files that are not on the site (e.g. ``solutions/``, or the
instructor notes on the student site) become plain text. :func:`check_site` verifies it.

    python -m course_lib.tools.site [--teacher] [--out DIR] [--no-slides]
"""

from __future__ import annotations

import argparse
import html
import json
import posixpath
import re
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
    markdown_title,
    plain_title,
    rewrite_links,
    titles,
)
from course_lib.tools.slides import LESSON_GLOB, build_slides

COURSE_DIR = Path(__file__).resolve().parents[2]
COURSE_TITLE = "Attention, from recap to Grad-CAM"
#: Markdown files of the repository that become pages (when they exist), teacher's edition.
DOCUMENTS = ["README.md", "BENCHMARKS.md", "teaching/*.md"]
#: The documents of the student site, each with the headings of the sections it leaves out
#: (a heading's section runs to the next heading of the same or a higher level).
STUDENT_DOCUMENTS: dict[str, tuple[str, ...]] = {
    "README.md": ("For teachers", "For developers"),
    "BENCHMARKS.md": (),
    "teaching/syllabus.md": (),
    "teaching/project.md": (),
    "teaching/setup-without-make.md": ("What the admin installs",),
}
TEACHER_BANNER = (
    '<p class="course-edition">Teacher\'s edition: it includes the instructor notes and the '
    "grading kit. Publish the student site (<code>make site</code>) to your class.</p>"
)
_HEADING_LINE = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE_LINE = re.compile(r"^ {0,3}(```|~~~)")


@dataclass
class Site:
    """What a build wrote: site paths of each kind of page, and the seconds it took."""

    out: Path
    lessons: list[str] = field(default_factory=list)
    slides: list[str] = field(default_factory=list)
    exercises: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    teacher: bool = False
    seconds: float = 0.0

    def pages(self) -> list[str]:
        return ["index.html", *self.lessons, *self.slides, *self.exercises, *self.documents]


def _html_name(path: str) -> str:
    return str(Path(path).with_suffix(".html").as_posix())


def default_out(course_dir: Path, teacher: bool) -> Path:
    """``build/site`` for students, ``build/site-teacher`` for the teacher's edition (kept
    apart, so the one to publish is never overwritten by the other)."""
    return course_dir / "build" / ("site-teacher" if teacher else "site")


def documents(course_dir: Path, teacher: bool) -> list[str]:
    """Repository paths of the Markdown documents of an edition (those that exist)."""
    if teacher:
        found = [p for pattern in DOCUMENTS for p in sorted(course_dir.glob(pattern))]
        return [path.relative_to(course_dir).as_posix() for path in found]
    return [name for name in STUDENT_DOCUMENTS if (course_dir / name).is_file()]


def drop_sections(text: str, headings: tuple[str, ...], name: str = "document") -> str:
    """``text`` (Markdown) without the sections under ``headings`` (matched as written after
    the ``#``s). A heading that is not there is an error: the student site must not keep a
    section because it was renamed."""
    kept: list[str] = []
    dropping: int | None = None  # level of the heading being dropped
    found: set[str] = set()
    fenced = False
    for line in text.splitlines(keepends=True):
        match = None if fenced else _HEADING_LINE.match(line)
        if _FENCE_LINE.match(line):
            fenced = not fenced
        if match:
            level, title = len(match.group(1)), match.group(2)
            if dropping is not None and level <= dropping:
                dropping = None
            if dropping is None and title in headings:
                dropping = level
                found.add(title)
        if dropping is None:
            kept.append(line)
    missing = [heading for heading in headings if heading not in found]
    if missing:
        raise ExportError(
            f"{name}: no section {missing[0]!r} to leave out of the student site "
            "(update STUDENT_DOCUMENTS in course_lib/tools/site.py)"
        )
    return "".join(kept)


def plan(course_dir: Path, teacher: bool = False) -> dict[str, str]:
    """Repository path -> site path of every page built from a repository file."""
    pages: dict[str, str] = {}
    for path in sorted(course_dir.glob(LESSON_GLOB)):
        pages[f"notebooks/{path.name}"] = f"notebooks/{path.stem}.html"
    for path in sorted(course_dir.glob("exercises/*.ipynb")):
        pages[f"exercises/{path.name}"] = f"exercises/{path.stem}.html"
    for relative in documents(course_dir, teacher):
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


def download_box(notebook: str) -> str:
    """The download link at the top of an exercise page (``notebook``: the file's name,
    beside the page)."""
    name = html.escape(notebook)
    return (
        f'<p class="course-download"><a data-site-link href="{name}" download>'
        f"Download {name}</a> and open it in JupyterLab with the course installed (see the "
        "README). Keep its file name: the grader finds the exercise from it.</p>"
    )


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
    course_dir: Path,
    pages: dict[str, str],
    slides: dict[str, str],
    teaching: list[str],
    teacher: bool = False,
) -> str:
    """The home page (Markdown with repository paths; links are rewritten like any page)."""
    lessons = sorted(course_dir.glob(LESSON_GLOB))
    names = titles(lessons)
    lines = [
        f"# {COURSE_TITLE}",
        "",
        "An open course on attention in deep learning with PyTorch in Jupyter. This site shows "
        "the lessons as they were last executed; to run them, clone the course and "
        "`make lab` (see the [README](README.md)). Widgets are static snapshots (they respond "
        "in JupyterLab). Each exercise page has its notebook to download.",
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
        lines += ["", "## For teachers" if teacher else "## Course documents", ""]
        for document in teaching:
            title = Path(document).stem.replace("-", " ").replace("_", " ")
            lines.append(f"- [{'teaching kit' if title == 'README' else title}]({document})")
    if "BENCHMARKS.md" in pages:
        lines += ["", "Measured run times and headline numbers: [BENCHMARKS](BENCHMARKS.md)."]
    return "\n".join(lines) + "\n"


def build_site(
    course_dir: Path = COURSE_DIR,
    out: Path | None = None,
    with_slides: bool = True,
    teacher: bool = False,
) -> Site:
    """Build the student site (or with ``teacher`` the teacher's edition) into ``out``
    (default :func:`default_out`), replacing what was there."""
    start = time.monotonic()
    out = out or default_out(course_dir, teacher)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    pages = plan(course_dir, teacher)
    lesson_paths = sorted(course_dir.glob(LESSON_GLOB))
    if not lesson_paths:
        raise ExportError(f"no lessons found ({LESSON_GLOB}) in {course_dir}")
    names = titles(lesson_paths)
    lessons = [(pages[f"notebooks/{path.name}"], names[path]) for path in lesson_paths]
    teaching = sorted(
        (site for source, site in pages.items() if source.startswith("teaching/")),
        key=lambda site: (not site.endswith("README.html"), site),
    )
    site = Site(out=out, teacher=teacher)

    slide_pages: dict[str, str] = {}
    if with_slides:
        slide_pages = {f"notebooks/{p.name}": f"slides/{p.stem}.slides.html" for p in lesson_paths}
        for path in build_slides(
            lesson_paths, out / "slides", home="../index.html", pages=pages, prefix="slides/"
        ):
            site.slides.append(path.relative_to(out).as_posix())

    # the home page links slide decks by their site paths
    links = {**pages, **{deck: deck for deck in slide_pages.values()}}

    def write(source: str, target: str, notebook: dict, header: str = "") -> None:
        resources = {
            "course_header": navigation(target, lessons, teaching)
            + (TEACHER_BANNER if teacher else "")
            + header,
            "course_footer": pager(target, lessons),
        }
        body = export(notebook, "page", resources, name=source)
        body = rewrite_links(body, source, target, links)
        (out / target).parent.mkdir(parents=True, exist_ok=True)
        (out / target).write_text(body, encoding="utf-8")

    for source, target in pages.items():
        path = course_dir / source
        header = ""
        if source.endswith(".ipynb"):
            try:
                notebook = json.loads(path.read_text())
            except json.JSONDecodeError as error:
                raise ExportError(f"{source}: not a readable notebook: {error}") from error
        else:
            text = path.read_text()
            if not teacher:
                text = drop_sections(text, STUDENT_DOCUMENTS[source], name=source)
            notebook = markdown_notebook(text)
            notebook["metadata"]["title"] = plain_title(markdown_title(text) or path.stem)
        if source.startswith("exercises/"):
            (out / target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / "exercises" / path.name)
            site.downloads.append(f"exercises/{path.name}")
            header = download_box(path.name)
        write(source, target, notebook, header)
        kind = source.split("/", 1)[0]
        bucket = {"notebooks": site.lessons, "exercises": site.exercises}.get(kind, site.documents)
        bucket.append(target)

    home = home_markdown(
        course_dir,
        pages,
        slide_pages,
        [source for source, target in pages.items() if source.startswith("teaching/")],
        teacher=teacher,
    )
    write("index.md", "index.html", markdown_notebook(home))
    site.seconds = time.monotonic() - start
    return site


def check_site(site: Site) -> list[str]:
    """Problems with a built site: missing pages or downloads, anything fetched from another
    host, relative links (and ``#fragments``) that point at nothing, a page titled
    "Notebook", and on the student site any page of the teacher's edition."""
    problems = [f"{page}: missing" for page in site.pages() if not (site.out / page).is_file()]
    problems += [f"{path}: missing" for path in site.downloads if not (site.out / path).is_file()]
    allowed = {_html_name(name) for name in STUDENT_DOCUMENTS}
    for page in sorted(site.out.rglob("*.html")):
        name = page.relative_to(site.out).as_posix()
        text = page.read_text(encoding="utf-8")
        for url in external_sources(text):
            problems.append(f"{name}: loads {url} from the network")
        title = re.search(r"<title>(.*?)</title>", text, re.S)
        if title is None or title.group(1).strip() in {"", "Notebook"}:
            problems.append(f"{name}: no title of its own")
        if not site.teacher and name.startswith("teaching/") and name not in allowed:
            problems.append(f"{name}: teachers' material on the student site")
    return problems + broken_links(site.out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.tools.site", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--teacher",
        action="store_true",
        help="the teacher's edition, with the instructor notes and the grading kit "
        "(default: the student site)",
    )
    parser.add_argument(
        "--out", type=Path, help="default: build/site, or build/site-teacher with --teacher"
    )
    parser.add_argument("--no-slides", action="store_true", help="skip the slide decks")
    args = parser.parse_args(argv)
    out = args.out or default_out(COURSE_DIR, args.teacher)
    try:
        site = build_site(COURSE_DIR, out, with_slides=not args.no_slides, teacher=args.teacher)
    except (ExportError, ValueError, OSError) as error:
        print(f"site: {error}", file=sys.stderr)
        return 1
    problems = check_site(site)
    for problem in problems:
        print(f"site: {problem}", file=sys.stderr)
    edition = "teacher's edition" if args.teacher else "student site"
    print(
        f"wrote the {edition}: {len(site.pages())} pages to {out}/ in {site.seconds:.1f} s "
        f"({len(site.lessons)} lessons, {len(site.slides)} slide decks, "
        f"{len(site.exercises)} exercises with their notebooks, {len(site.documents)} "
        f"documents); {len(problems)} problems. Open {out / 'index.html'}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
