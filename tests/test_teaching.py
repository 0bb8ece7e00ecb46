"""The teaching kit covers the course as it is: every lesson notebook, every exercise (with
its real points), check names that exist, links that resolve, and the README points at it."""

import json
import re
from pathlib import Path

import pytest

COURSE_DIR = Path(__file__).resolve().parents[1]
TEACHING = COURSE_DIR / "teaching"
DOCUMENTS = ["README.md", "syllabus.md", "instructor-notes.md", "running-a-class.md"]
LESSONS = sorted(COURSE_DIR.glob("notebooks/[0-9][0-9]_*.ipynb"))
EXERCISE_IDS = sorted(path.stem for path in COURSE_DIR.glob("exercises/*.ipynb"))


def read(name: str) -> str:
    return (TEACHING / name).read_text()


def points(solution: Path) -> int:
    cells = json.loads(solution.read_text())["cells"]
    return sum(cell["metadata"].get("nbgrader", {}).get("points", 0) for cell in cells)


def check_names(solution: Path) -> set[str]:
    """The names of the checks in a solution's test cells (first argument of check.*)."""
    source = "\n".join(
        "".join(cell["source"]) for cell in json.loads(solution.read_text())["cells"]
    )
    return set(re.findall(r"check\.\w+\(\s*\"([^\"]+)\"", source))


@pytest.mark.parametrize("name", DOCUMENTS)
def test_teaching_documents_exist(name):
    assert (TEACHING / name).is_file()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_syllabus_covers_every_lesson_notebook(lesson):
    syllabus = read("syllabus.md")
    assert f"`{lesson.name}`" in syllabus, f"teaching/syllabus.md does not mention {lesson.name}"
    row = next((line for line in syllabus.splitlines() if f"`{lesson.name}`" in line), "")
    assert "| ready |" in row, f"{lesson.name} is in notebooks/: mark its syllabus row 'ready'"


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_syllabus_assigns_every_exercise_with_its_points(exercise):
    solution = COURSE_DIR / "solutions" / f"{exercise}.ipynb"
    expected = f"`{exercise}` ({points(solution)})"
    assert expected in read("syllabus.md"), f"teaching/syllabus.md should list {expected}"


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_instructor_notes_have_a_section_per_exercise(exercise):
    solution = COURSE_DIR / "solutions" / f"{exercise}.ipynb"
    heading = f"### `{exercise}` — "
    notes = read("instructor-notes.md")
    assert heading in notes, f"teaching/instructor-notes.md needs a section '{heading}…'"
    section = notes.split(heading, 1)[1].split("\n### ", 1)[0]
    assert f"({points(solution)} points)" in section.splitlines()[0]
    quoted = re.findall(r"✘ ([^|]+)", section)
    assert quoted, f"{exercise}: quote at least one check message"
    names = check_names(solution)
    unknown = [text for text in quoted if not any(text.startswith(f"{n}: ") for n in names)]
    assert not unknown, f"{exercise}: the notes quote checks that do not exist: {unknown}"


def test_syllabus_has_a_week_per_lesson():
    weeks = set(re.findall(r"^\| (\d) \|", read("syllabus.md"), re.M))
    last = max(int(path.name[:2]) for path in LESSONS)
    assert weeks == {str(week) for week in range(1, max(last, 1) + 1)}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_teaching_links_resolve(name):
    for target in re.findall(r"\]\(([^)#\s]+)", read(name)):
        if re.match(r"[a-z]+:", target):
            continue
        assert (TEACHING / target).exists(), f"teaching/{name}: link to {target} points at no file"


def test_running_a_class_matches_the_grade_command():
    text = read("running-a-class.md")
    makefile = (COURSE_DIR / "Makefile").read_text()
    assert "make grade SUBMISSIONS=" in text and "grade: install" in makefile
    assert "submissions/" in text and "gradebook.csv" in text and "gradebook_tests.csv" in text
    for status in ["graded", "timeout", "memory", "output", "crashed", "invalid", "error"]:
        assert f"| `{status}` |" in text, status


def test_readme_teacher_section_links_the_kit_slides_and_site():
    readme = (COURSE_DIR / "README.md").read_text()
    teachers = readme.split("## For teachers", 1)[1].split("\n## ", 1)[0]
    for target in [
        "teaching/README.md",
        "teaching/syllabus.md",
        "teaching/instructor-notes.md",
        "teaching/running-a-class.md",
    ]:
        assert f"]({target})" in teachers, target
    assert "make slides" in teachers and "make site" in teachers
