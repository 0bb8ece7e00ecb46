"""The course site: offline HTML checks, widget snapshots, links, and a full build of the
real course (without the network where the machine allows it)."""

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.tools import html_export, site
from course_lib.tools.html_export import (
    broken_links,
    external_sources,
    rewrite_links,
    snapshot_widgets,
    widget_html,
)

COURSE_DIR = Path(__file__).resolve().parents[2]
LESSONS = sorted(COURSE_DIR.glob("notebooks/[0-9][0-9]_*.ipynb"))
EXERCISES = sorted(COURSE_DIR.glob("exercises/*.ipynb"))
PNG = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


# -- external sources ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        '<script src="https://cdn.example.org/require.js"></script>',
        '<link rel="stylesheet" href="//fonts.example.org/x.css">',
        '<img src="http://example.org/x.png">',
        '<iframe src="https://example.org"></iframe>',
        "<style>body { background: url('https://example.org/bg.png') }</style>",
        '<style>@import "https://example.org/theme.css";</style>',
        '<div style="background-image: url(https://example.org/a.png)"></div>',
    ],
)
def test_external_sources_are_found(page):
    assert len(external_sources(page)) == 1


def test_links_data_uris_and_css_comments_are_not_sources():
    page = (
        '<a href="https://example.org/paper.pdf">paper</a>'
        f'<img src="data:image/png;base64,{PNG}">'
        '<script src="local.js"></script>'
        "<style>/* see https://example.org/colors and url(https://x.org/y) */ a {}</style>"
    )
    assert external_sources(page) == []


# -- links --------------------------------------------------------------------------------------


def test_broken_links_finds_missing_files_fragments_and_escapes(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<h1 id="top">x</h1><a href="sub/page.html#sec">ok</a><a href="sub/page.html#nope">bad</a>'
        '<a href="missing.html">gone</a><a href="../outside.html">out</a><a href="#top">self</a>'
        '<a href="https://example.org">web</a><img src="img.png">'
    )
    (tmp_path / "sub" / "page.html").write_text(
        '<h2 id="sec">s</h2><h2 id="caf%C3%A9">c</h2><a href="../index.html#top">up</a>'
        '<a href="#caf%C3%A9">encoded</a>'
    )
    problems = broken_links(tmp_path)
    assert problems == [
        "index.html: sub/page.html#nope: no id 'nope' in the target page",
        "index.html: missing.html points at no file",
        "index.html: ../outside.html leaves the site",
        "index.html: img.png points at no file",
    ]


def test_rewrite_links_points_at_pages_and_unlinks_the_rest():
    page = (
        '<a href="../exercises/01_x.ipynb">ex</a> <a href="02_y.ipynb#Goals">next</a> '
        '<a href="../solutions/01_x.ipynb">sol</a> <a href="#local">here</a> '
        '<a href="https://example.org">web</a> <a data-site-link href="../index.html">home</a>'
    )
    pages = {
        "exercises/01_x.ipynb": "exercises/01_x.html",
        "notebooks/02_y.ipynb": "notebooks/02_y.html",
    }
    out = rewrite_links(page, "notebooks/01_z.ipynb", "notebooks/01_z.html", pages)
    assert '<a href="../exercises/01_x.html">ex</a>' in out
    assert '<a href="02_y.html#Goals">next</a>' in out
    assert (
        '<span class="repo-file" title="in the course repository: solutions/01_x.ipynb">sol' in out
    )
    assert '<a href="#local">here</a>' in out
    assert '<a href="https://example.org">web</a>' in out
    assert '<a data-site-link href="../index.html">home</a>' in out


# -- widget snapshots ---------------------------------------------------------------------------


def widget_notebook() -> dict:
    def model(name: str, **state) -> dict:
        return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}

    models = {
        "box": model("VBoxModel", children=["IPY_MODEL_slider", "IPY_MODEL_html", "IPY_MODEL_out"]),
        "slider": model("IntSliderModel", description="example", value=3),
        "html": model("HTMLModel", value="<b>#3</b>: drei und vierzig"),
        "out": model(
            "OutputModel",
            outputs=[{"output_type": "display_data", "data": {"image/png": PNG}, "metadata": {}}],
        ),
        "bar": model("HBoxModel", children=["IPY_MODEL_label"]),
        "label": model("LabelModel", value="training <done>"),
    }
    view = "application/vnd.jupyter.widget-view+json"

    def display(model_id: str) -> dict:
        return {
            "output_type": "display_data",
            "metadata": {},
            "data": {view: {"model_id": model_id}, "text/plain": "VBox(...)"},
        }

    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": models}}},
        "cells": [
            {
                "cell_type": "code",
                "id": "a",
                "metadata": {},
                "source": "explorer",
                "execution_count": 1,
                "outputs": [display("box"), display("bar"), display("unknown")],
            }
        ],
    }


def test_snapshot_widgets_renders_saved_state_statically():
    nb = widget_notebook()
    result = snapshot_widgets(nb)
    assert "widgets" not in result["metadata"] and "widgets" in nb["metadata"]
    explorer, bar, unknown = result["cells"][0]["outputs"]
    html = explorer["data"]["text/html"]
    assert list(explorer["data"]) == ["text/html"]
    assert "example: 3" in html and "<b>#3</b>: drei und vierzig" in html
    assert f'<img src="data:image/png;base64,{PNG}"' in html
    assert html_export.SNAPSHOT_NOTE in html, "a widget with controls says it is a snapshot"
    assert "training &lt;done&gt;" in bar["data"]["text/html"]
    assert html_export.SNAPSHOT_NOTE not in bar["data"]["text/html"]
    assert unknown["data"] == {"text/plain": "VBox(...)"}, "no saved state: the text stays"


def test_widget_html_stops_on_cycles():
    models = {"a": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_a"]}}}
    body, interactive = widget_html("a", models)
    assert body.count("<div>") == 21 and not interactive


# -- the real course ----------------------------------------------------------------------------


def offline_prefix() -> list[str]:
    """``unshare -n`` (no network at all) where this machine allows it, else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def build(out: Path, *flags: str) -> subprocess.CompletedProcess:
    """``python -m course_lib.tools.site`` into ``out``, without network if possible."""
    return subprocess.run(
        [
            *offline_prefix(),
            sys.executable,
            "-m",
            "course_lib.tools.site",
            "--out",
            str(out),
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=COURSE_DIR,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> site.Site:
    """The student site (the default) built into a temporary folder."""
    out = tmp_path_factory.mktemp("site") / "site"
    done = build(out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrote the student site" in done.stdout and "0 problems" in done.stdout
    result = site.Site(out=out)
    result.lessons = [f"notebooks/{path.stem}.html" for path in LESSONS]
    result.slides = [f"slides/{path.stem}.slides.html" for path in LESSONS]
    result.exercises = [f"exercises/{path.stem}.html" for path in EXERCISES]
    result.downloads = [f"exercises/{path.name}" for path in EXERCISES]
    result.documents = [
        site._html_name(name) for name in site.STUDENT_DOCUMENTS if (COURSE_DIR / name).is_file()
    ]
    return result


@pytest.fixture(scope="module")
def teachers(tmp_path_factory) -> site.Site:
    """The teacher's edition (without slides, to save time)."""
    out = tmp_path_factory.mktemp("site") / "teacher"
    done = build(out, "--teacher", "--no-slides")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "wrote the teacher's edition" in done.stdout and "0 problems" in done.stdout
    return site.Site(out=out, teacher=True)


def test_site_has_every_page_nothing_remote_and_no_broken_link(built):
    assert built.lessons and built.exercises
    assert site.check_site(built) == []


def solution_lines(path: Path) -> list[str]:
    """The code lines between ### BEGIN SOLUTION and ### END SOLUTION of a solution."""
    lines, inside = [], False
    for cell in json.loads(path.read_text())["cells"]:
        for line in "".join(cell["source"]).splitlines():
            if "### BEGIN SOLUTION" in line or "### END SOLUTION" in line:
                inside = "BEGIN" in line
            elif inside and len(line.strip()) > 12:
                lines.append(line.strip())
    return lines


def page_text(page: str) -> str:
    """What a reader sees: tags (e.g. syntax highlighting spans) removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_the_leak_check_would_see_a_published_solution():
    solution = COURSE_DIR / "solutions" / EXERCISES[0].name
    page = page_text(html_export.export(json.loads(solution.read_text()), "page"))
    lines = solution_lines(solution)
    assert lines and all(line in page for line in lines)


def test_site_never_publishes_solutions(built):
    assert not (built.out / "solutions").exists()
    for exercise in EXERCISES:
        page = page_text((built.out / "exercises" / f"{exercise.stem}.html").read_text())
        assert "NotImplementedError" in page
        assert "BEGIN HIDDEN TESTS" not in page
        solution = COURSE_DIR / "solutions" / exercise.name
        leaked = [line for line in solution_lines(solution) if line in page]
        assert not leaked, f"{exercise.name}: solution lines on the site: {leaked}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_lesson_pages_show_every_figure(built, lesson):
    notebook = json.loads(lesson.read_text())
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )
    page = (built.out / "notebooks" / f"{lesson.stem}.html").read_text()
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) >= figures
    assert 'href="../index.html"' in page, "navigation back to the home page"


def test_home_page_lists_lessons_slides_exercises_and_documents(built):
    home = (built.out / "index.html").read_text()
    for page in built.lessons + built.slides + built.exercises:
        assert f'href="{page}"' in home, page
    assert 'href="teaching/syllabus.html"' in home and 'href="teaching/project.html"' in home
    assert "For teachers" not in home and "teaching/README.html" not in home


# -- the student site and the teacher's edition ---------------------------------------------------

#: Text that only the teacher's material shows (the README's teachers' section, running a
#: class, the hub admin's notes on where the answers live).
TEACHER_ONLY = [
    "Instructor notes",
    "instructor notes",
    "BEGIN HIDDEN TESTS",
    "What the grader trusts",
    "What the admin installs",
    "/opt/attention-course/solutions",
]


def test_student_site_has_no_instructor_material(built):
    assert sorted(p.name for p in (built.out / "teaching").iterdir()) == sorted(
        Path(page).name for page in built.documents if page.startswith("teaching/")
    )
    leaks = []
    for page in built.out.rglob("*.html"):
        text = page_text(page.read_text())
        leaks += [f"{page.relative_to(built.out)}: {word}" for word in TEACHER_ONLY if word in text]
        links = re.findall(
            r'href="([^"]*(?:instructor-notes|running-a-class)[^"]*)"', page.read_text()
        )
        leaks += [f"{page.relative_to(built.out)}: links {link}" for link in links]
    assert not leaks, leaks
    readme = page_text((built.out / "README.html").read_text())
    assert "For learners" in readme and "For teachers" not in readme
    assert "For developers" not in readme


def test_every_common_mistake_table_stays_with_the_teacher(built, teachers):
    notes = (teachers.out / "teaching" / "instructor-notes.html").read_text()
    rows = [  # mistake, what the student sees, what the gradebook says
        " ".join(page_text(row).split())
        for row in re.findall(r"<tr>(.*?)</tr>", notes, re.S)
        if "<td>" in row
    ]
    assert len(rows) > 10, "the instructor notes' tables of mistakes"
    pages = " ".join(
        " ".join(page_text(page.read_text()).split()) for page in built.out.rglob("*.html")
    )
    assert not [row for row in rows if row in pages]


def test_teachers_edition_has_the_whole_kit_and_says_so(teachers):
    for path in sorted(COURSE_DIR.glob("teaching/*.md")):
        assert (teachers.out / "teaching" / f"{path.stem}.html").is_file(), path.name
    home = (teachers.out / "index.html").read_text()
    assert "For teachers" in home and 'href="teaching/instructor-notes.html"' in home
    assert "Teacher&#x27;s edition" in home or "Teacher's edition" in home
    assert "For teachers" in page_text((teachers.out / "README.html").read_text())
    assert site.check_site(teachers) == []


def test_page_titles_are_the_lesson_and_exercise_titles(built):
    names = html_export.titles(LESSONS + EXERCISES)
    for path, title in names.items():
        kind = "notebooks" if path in LESSONS else "exercises"
        page = (built.out / kind / f"{path.stem}.html").read_text()
        assert f"<title>{html.escape(title, quote=False)}</title>" in page, path.name
        assert "$" not in title and "`" not in title, title
    for lesson in LESSONS:
        deck = (built.out / "slides" / f"{lesson.stem}.slides.html").read_text()
        assert f"<title>{html.escape(names[lesson], quote=False)} (slides)</title>" in deck
    syllabus = (built.out / "teaching" / "syllabus.html").read_text()
    assert "<title>Syllabus" in syllabus
    for page in built.out.rglob("*.html"):
        assert "<title>Notebook</title>" not in page.read_text(), page


def test_each_exercise_page_links_its_notebook_to_download(built):
    for exercise in EXERCISES:
        page = (built.out / "exercises" / f"{exercise.stem}.html").read_text()
        assert f'download="" href="{exercise.name}"' in page or (
            f'href="{exercise.name}" download' in page
        ), exercise.name
        copy = built.out / "exercises" / exercise.name
        assert copy.read_bytes() == exercise.read_bytes(), "the pristine exercise, unchanged"
    assert not list(built.out.glob("**/solutions*")), "never the solutions"


def test_drop_sections_leaves_out_whole_sections_but_not_code():
    text = (
        "# Doc\n\nintro\n\n## Keep\n\nkept\n\n## Secret\n\nhidden\n\n"
        "### Sub of secret\n\nalso hidden\n\n```bash\n# Keep\n## For teachers\n```\n\n"
        "## After\n\nkept too\n"
    )
    result = site.drop_sections(text, ("Secret",), name="doc.md")
    assert "hidden" not in result and "Sub of secret" not in result
    assert "kept\n" in result and "## After" in result and "kept too" in result
    fenced = site.drop_sections("# A\n```\n## Secret\n```\nbody\n## Secret\nx\n", ("Secret",))
    assert fenced == "# A\n```\n## Secret\n```\nbody\n", "a '#' line in code is no heading"


def test_drop_sections_refuses_a_heading_that_is_not_there():
    with pytest.raises(html_export.ExportError, match="README.md: no section 'For teachers'"):
        site.drop_sections("# R\n\n## For learners\n", ("For teachers",), name="README.md")


def test_student_documents_name_sections_that_exist():
    for name, headings in site.STUDENT_DOCUMENTS.items():
        path = COURSE_DIR / name
        if path.is_file():
            site.drop_sections(path.read_text(), headings, name=name)


def test_site_check_reports_problems(tmp_path):
    (tmp_path / "index.html").write_text(
        '<title>Home</title><script src="https://cdn.example.org/x.js"></script>'
        '<a href="gone.html">x</a>'
    )
    (tmp_path / "teaching").mkdir()
    (tmp_path / "teaching" / "instructor-notes.html").write_text("<title>Notebook</title>")
    problems = site.check_site(
        site.Site(out=tmp_path, lessons=["notebooks/00.html"], downloads=["exercises/00.ipynb"])
    )
    assert problems == [
        "notebooks/00.html: missing",
        "exercises/00.ipynb: missing",
        "index.html: loads https://cdn.example.org/x.js from the network",
        "teaching/instructor-notes.html: no title of its own",
        "teaching/instructor-notes.html: teachers' material on the student site",
        "index.html: gone.html points at no file",
    ]
    assert "teachers' material" not in " ".join(
        site.check_site(site.Site(out=tmp_path, teacher=True))
    )
