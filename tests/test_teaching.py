"""The teaching kit covers the course as it is: every lesson notebook, every exercise (with
its real points), check names that exist, links that resolve, and the README points at it; the
calendar, project rubric, policies and set-up pages agree with the syllabus and the Makefile."""

import json
import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

COURSE_DIR = Path(__file__).resolve().parents[1]
TEACHING = COURSE_DIR / "teaching"
DOCUMENTS = [
    "README.md",
    "syllabus.md",
    "instructor-notes.md",
    "running-a-class.md",
    "calendar-template.md",
    "policies.md",
    "project.md",
    "setup-without-make.md",
]
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


def links(path: Path) -> list[tuple[Path, str]]:
    """Every relative link of a Markdown file: (target file, #fragment or '')."""
    out = []
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, fragment = target.partition("#")
        out.append((path.parent / file if file else path, fragment))
    return out


@pytest.mark.parametrize(
    "path", sorted(TEACHING.glob("*.md")) + [COURSE_DIR / "README.md"], ids=lambda p: p.name
)
def test_teaching_links_resolve(path):
    """Links point at files that exist, and at whole pages: GitHub and the course site give a
    heading different ids ('late-work' and 'Late-work'), so a #fragment breaks in one of them."""
    for target, fragment in links(path):
        assert target.exists(), f"{path.name}: link to {target} points at no file"
        if path.parent == TEACHING:
            assert not fragment, f"{path.name}: link to a whole page, not #{fragment}"


def test_link_check_sees_missing_files_and_fragments(tmp_path):
    (tmp_path / "a.md").write_text("# Late work\n[x](b.md) [y](a.md#late-work) [z](#nope)\n")
    found = links(tmp_path / "a.md")
    assert [(t.name, t.exists(), f) for t, f in found] == [
        ("b.md", False, ""),
        ("a.md", True, "late-work"),
        ("a.md", True, "nope"),
    ]


@pytest.mark.parametrize(
    "path", sorted(TEACHING.glob("*.md")) + [COURSE_DIR / "README.md"], ids=lambda p: p.name
)
def test_no_stale_planned_lessons_paragraph(path):
    """Every lesson exists now: no paragraph may still announce lessons as planned."""
    for paragraph in path.read_text().split("\n\n"):
        assert not (re.search(r"\bplanned\b", paragraph, re.I) and "lesson" in paragraph.lower()), (
            f"{path.name}: stale paragraph: {paragraph[:80]!r}"
        )


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


# --- Calendar ------------------------------------------------------------------------------


def calendar_example() -> tuple[str, str]:
    """The example in calendar-template.md: (its options, the table it shows)."""
    match = re.search(
        r"<!-- calendar: (.+?) -->\n(.*?)<!-- end calendar -->", read("calendar-template.md"), re.S
    )
    assert match, "calendar-template.md needs its <!-- calendar: … --> example block"
    return match.group(1), match.group(2)


def test_calendar_example_is_what_the_tool_prints():
    options, shown = calendar_example()
    printed = subprocess.run(
        [sys.executable, "-m", "course_lib.tools.term_calendar", *options.split()],
        cwd=COURSE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == printed, "calendar-template.md's example is stale: paste the tool's output"


@pytest.mark.parametrize("exercise", EXERCISE_IDS)
def test_every_exercise_has_a_due_date_in_the_calendar(exercise):
    _, shown = calendar_example()
    expected = f"`{exercise}` ({points(COURSE_DIR / 'solutions' / f'{exercise}.ipynb')})"
    rows = [line for line in shown.splitlines() if expected in line]
    assert len(rows) == 1, f"the calendar example should list {expected} once"
    assert re.search(r"\| \w{3} \d{4}-\d\d-\d\d \d\d:\d\d \|$", rows[0]), rows[0]


def test_fill_in_template_lists_the_syllabus_weeks():
    from course_lib.tools.term_calendar import read_weeks

    template = read("calendar-template.md").split("## Fill-in template", 1)[1]
    for week in read_weeks(read("syllabus.md")):
        row = next(line for line in template.splitlines() if line.startswith(f"| {week.number} |"))
        assert re.findall(r"`(\d\d_\w+)` \((\d+)\)", row) == [
            (e, str(p)) for e, p in week.exercises
        ], f"fill-in row for week {week.number} differs from the syllabus"
        for lesson in week.lessons:
            assert f"`{lesson}`" in row
    milestones = re.findall(r"^\| (Proposal|Check-in|Final) \| ____ \| (\d+) \|", template, re.M)
    project = re.findall(
        r"^\| (Proposal|Check-in|Final) \|[^|]+\|[^|]+\| (\d+) \|", read("project.md"), re.M
    )
    assert milestones == project


# --- Project -------------------------------------------------------------------------------


def rubric_rows() -> list[tuple[str, int, list[str]]]:
    section = read("project.md").split("## Rubric", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[1].isdigit():
            rows.append((cells[0], int(cells[1]), cells[2:]))
    return rows


def band(cell: str) -> tuple[int, int]:
    """A band's point range from its cell: '13–15: …' or '10: …'."""
    match = re.match(r"(\d+)(?:–(\d+))?(?::|$)", cell)
    assert match, f"a rubric band should start with its points: {cell!r}"
    low = int(match.group(1))
    return low, int(match.group(2) or low)


def test_rubric_points_add_up_to_the_stated_total():
    text = read("project.md")
    total = int(re.search(r"## Rubric \((\d+) points\)", text).group(1))
    rows = rubric_rows()
    assert len(rows) >= 5
    assert sum(points for _, points, _ in rows) == total
    assert f"The points add up to {total}." in text


@pytest.mark.parametrize("row", rubric_rows(), ids=lambda row: row[0])
def test_rubric_bands_cover_each_criterion_without_gaps(row):
    name, maximum, cells = row
    ranges = [band(cell) for cell in cells]
    assert ranges[0][1] == maximum, f"{name}: the top band must end at {maximum}"
    assert ranges[-1] == (0, 0), f"{name}: the last band is 'missing' = 0"
    for (low, _), (_, high) in zip(ranges, ranges[1:], strict=False):
        assert high == low - 1, f"{name}: bands {ranges} leave a gap or overlap"


def test_milestone_points_are_the_rubric_rows():
    rubric = {name: points for name, points, _ in rubric_rows()}
    milestones = dict(
        re.findall(
            r"^\| (Proposal|Check-in|Final) \|[^|]+\|[^|]+\| (\d+) \|", read("project.md"), re.M
        )
    )
    assert int(milestones["Proposal"]) == rubric["Proposal"]
    assert int(milestones["Check-in"]) == rubric["Check-in"]
    final = sum(points for name, points in rubric.items() if name not in ("Proposal", "Check-in"))
    assert int(milestones["Final"]) == final


def test_three_project_ideas_per_part_of_the_course():
    ideas = read("project.md").split("## Project ideas", 1)[1]
    parts = re.findall(r"^### .+\(lessons? (\d\d)(?:–(\d\d))?", ideas, re.M)
    covered = set()
    for first, last in parts:
        covered |= set(range(int(first), int(last or first) + 1))
    lessons = {int(path.name[:2]) for path in LESSONS}
    assert covered == lessons - {0}, f"the project ideas' parts cover lessons {sorted(covered)}"
    for section in re.split(r"^### ", ideas, flags=re.M)[1:]:
        numbered = re.findall(r"^(\d)\. \*\*", section, re.M)
        assert numbered == ["1", "2", "3"], f"three ideas in {section.splitlines()[0]}"


def test_project_ideas_name_lessons_that_exist():
    ideas = read("project.md").split("## Project ideas", 1)[1]
    lessons = {int(path.name[:2]) for path in LESSONS}
    for number in re.findall(r"\(lesson (\d\d)", ideas):
        assert int(number) in lessons


# --- Policies ------------------------------------------------------------------------------


def test_policies_cover_late_work_collaboration_and_ai_with_choices_marked():
    text = read("policies.md")
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    titles = [section.splitlines()[0] for section in sections]
    assert titles == ["Late work", "Collaboration", "Use of AI assistants"]
    for section in sections:
        assert "**[choose" in section, f"mark the teacher's choices in {section.splitlines()[0]}"


def test_late_policy_is_a_deadline_and_a_per_day_penalty_with_a_correct_example():
    late = read("policies.md").split("## Late work", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(line.removeprefix(">").strip() for line in late.splitlines())
    assert "deadline" in flat.lower()
    rule = re.search(r"\*\*\[choose: (\d+) %\]\*\* of the exercise's points per started day", flat)
    assert rule, "the late policy needs a per-day penalty in % of the exercise's points"
    example = re.search(
        r"with (\d+) % a day: a (\d+)-point exercise handed in (\d+) hours late that passes "
        r"every test scores (\d+) − (\d+) × ([\d.]+) = ([\d.]+) points",
        flat,
    )
    assert example, "the late policy needs its worked example"
    rate, exercise, hours, start, days, per_day, score = example.groups()
    assert int(rate) == int(rule.group(1)) and int(start) == int(exercise)
    assert int(days) == math.ceil(int(hours) / 24)
    assert float(per_day) == int(exercise) * int(rate) / 100
    assert float(score) == int(exercise) - int(days) * float(per_day)


# --- Set-up without make -------------------------------------------------------------------


def makefile_commands() -> list[list[str]]:
    """The commands of the Makefile's install (the .venv stamp) and lab targets, with its
    variables expanded, as argument lists (echo/touch/test lines and redirections dropped)."""
    text = (COURSE_DIR / "Makefile").read_text().replace("\\\n", " ")
    variables = dict(re.findall(r"^(\w+) [:?]?= (.*)$", text, re.M))
    variables.update(CURDIR=".", ROOT_FLAG="")

    def expand(line: str) -> str:
        while "$(" in line:
            line = re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], line)
        return line

    commands = []
    for target in ["$(STAMP)", "lab"]:
        recipe = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.M).group(1)
        for line in recipe.splitlines():
            line = expand(line.strip().lstrip("@")).split(">")[0]
            if line.startswith(("echo", "touch")):
                continue
            if line.startswith("test -x"):
                line = line.split("||", 1)[1]
            commands.append(shlex.split(line))
    return commands


def shell_lines(language: str) -> list[list[str]]:
    text = read("setup-without-make.md")
    blocks = re.findall(rf"```{language}\n(.*?)```", text, re.S)
    assert blocks, f"setup-without-make.md has no {language} block"
    lines = [line for block in blocks for line in block.splitlines() if line.strip()]
    return [shlex.split(line.replace("\\", "/")) for line in lines]


def windows(command: list[str]) -> list[str]:
    """A Makefile command as it reads on Windows: .venv/Scripts/X.exe for .venv/bin/X, and the
    interpreter that creates the venv as the py launcher; pip's --quiet left out."""
    program, *args = command
    if program.startswith(".venv/bin/"):
        program = ".venv/Scripts/" + program.rsplit("/", 1)[1] + ".exe"
    elif args[:2] == ["-m", "venv"]:
        program, args = "py", ["-3.11", *args]
    return [program, *(a for a in args if a != "--quiet")]


def test_makefile_parse_finds_the_install_and_lab_commands():
    commands = makefile_commands()
    assert [c[:3] for c in commands] == [
        ["python3", "-m", "venv"],
        [".venv/bin/python", "-m", "pip"],
        [".venv/bin/python", "-m", "ipykernel"],
        [".venv/bin/python", "-m", "course_lib.tools.exercises"],
        [".venv/bin/jupyter", "lab", "--ServerApp.root_dir=."],
    ]
    assert "-c" in commands[1] and "constraints.txt" in commands[1]


@pytest.mark.parametrize("language", ["powershell", "bat"])
def test_windows_commands_are_the_makefiles(language):
    """Each install/lab command of the Makefile appears, in order, in each Windows shell's
    blocks: same constraints file, kernel name, display name, learner copy and lab URL."""
    lines = [[word.removeprefix("./") for word in line] for line in shell_lines(language)]
    position = 0
    for command in map(windows, makefile_commands()):
        assert command in lines[position:], f"{language}: missing {' '.join(command)}"
        position = lines.index(command, position) + 1


def test_powershell_lines_quote_dashed_arguments_with_a_dot():
    """PowerShell splits an unquoted argument starting with '-' at its first '.'."""
    text = read("setup-without-make.md")
    for block in re.findall(r"```powershell\n(.*?)```", text, re.S):
        for line in block.splitlines():
            unquoted = re.sub(r'"[^"]*"', "", line)
            # a number such as -3.11 (py's version switch) is a number token, not a parameter
            bad = [
                w
                for w in unquoted.split()
                if w.startswith("-") and "." in w and not re.fullmatch(r"-\d+\.\d+", w)
            ]
            assert not bad, f"quote {bad} for PowerShell"


def test_hub_kernel_and_widgets_match_the_course():
    text = read("setup-without-make.md")
    hub = text.split("## JupyterHub", 1)[1]
    makefile = (COURSE_DIR / "Makefile").read_text()
    kernel = re.search(r"^KERNEL := (\S+)", makefile, re.M).group(1)
    display = re.search(r'--display-name "([^"]+)"', makefile).group(1)
    assert f'--name {kernel} --display-name "{display}"' in hub
    assert f'**"{display}"**' in hub
    pins = dict(
        re.findall(r"^([\w-]+)==(\S+)$", (COURSE_DIR / "constraints.txt").read_text(), re.M)
    )
    assert f"jupyterlab_widgets=={pins['jupyterlab_widgets']}" in hub
    lesson = json.loads((COURSE_DIR / "notebooks" / "00_start_here.ipynb").read_text())
    assert lesson["metadata"]["kernelspec"]["name"] == kernel  # why no kernel choice is needed


def test_hub_learner_copy_command_copies_once_and_never_overwrites(tmp_path):
    hub = read("setup-without-make.md").split("## JupyterHub", 1)[1]
    command = re.search(r'python -c "([^"]+)"', hub).group(1)
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "01_masked_softmax.ipynb").write_text("{}")
    run = [sys.executable, "-c", command]
    subprocess.run(run, cwd=tmp_path, check=True)
    copy = tmp_path / "my_work" / "01_masked_softmax.ipynb"
    assert copy.read_text() == "{}"
    copy.write_text('{"mine": 1}')
    subprocess.run(run, cwd=tmp_path, check=True)
    assert copy.read_text() == '{"mine": 1}'


def test_readme_learner_set_up_links_the_set_up_without_make():
    readme = (COURSE_DIR / "README.md").read_text()
    set_up = readme.split("## Two commands", 1)[1].split("\n## For teachers", 1)[0]
    assert "](teaching/setup-without-make.md)" in set_up
