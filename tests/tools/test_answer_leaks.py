"""No lesson shows an exercise's answer: not in its code, its prose or its outputs (printed
source included). An answer is the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
in ``solutions/``, or the body of a course function the exercise forbids (its reference); a
leak is three consecutive significant lines of it, alike up to whitespace, comments and the
names chosen, or half of its longer lines word for word."""

import ast
import builtins
import importlib
import inspect
import io
import json
import keyword
import re
import textwrap
import tokenize
from pathlib import Path

import pytest

COURSE_DIR = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((COURSE_DIR / "solutions").glob("*.ipynb"))
LESSONS = sorted((COURSE_DIR / "notebooks").glob("*.ipynb"))
WINDOW = 3  # consecutive lines that make a leak
LONG = 25  # characters: a line long enough to be telling on its own
REGION = re.compile(r"### BEGIN SOLUTION[^\n]*\n(.*?)### END SOLUTION", re.S)
#: Names kept as they are (the rest are renamed in order of appearance): what an answer calls.
KEEP = set(dir(builtins)) | {"torch", "F", "nn", "math", "np", "self"}


def _tokens(line: str) -> list[str]:
    try:
        return [
            t.string
            for t in tokenize.generate_tokens(io.StringIO(line).readline)
            if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER)
            and t.type not in (tokenize.INDENT, tokenize.DEDENT)
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return line.split()


def _plain(line: str) -> str:
    """A line without comments and with single spaces; '' if it says nothing."""
    text = " ".join(_tokens(line.strip()))
    return "" if text in ("", '"""', "pass", "else :", "try :") or text.startswith('"""') else text


def _significant(text: str) -> list[str]:
    return [p for p in map(_plain, text.splitlines()) if p]


def _renamed(lines: list[str]) -> str:
    """The lines with every name not in KEEP (and not an attribute) renamed in order."""
    names: dict[str, str] = {}
    out = []
    for line in lines:
        tokens = line.split(" ")
        for i, tok in enumerate(tokens):
            attribute = i > 0 and tokens[i - 1] == "."
            keyword_arg = 0 < i < len(tokens) - 1 and tokens[i + 1] == "=" and tokens[i - 1] in "(,"
            kept = keyword.iskeyword(tok) or tok in KEEP or attribute or keyword_arg
            if tok.isidentifier() and not kept:
                tokens[i] = names.setdefault(tok, f"v{len(names)}")
        out.append(" ".join(tokens))
    return "\n".join(out)


def _windows(lines: list[str]) -> set[str]:
    return {_renamed(lines[i : i + WINDOW]) for i in range(len(lines) - WINDOW + 1)}


def answer_lines(solution: Path) -> list[str]:
    nb = json.loads(solution.read_text())
    text = "\n".join(
        m[1]
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for m in REGION.finditer("".join(cell["source"]))
    )
    return _significant(text)


def reference_lines(solution: Path) -> list[str]:
    """The body (docstring left out) of every course function the exercise forbids."""
    lines = []
    for dotted in json.loads(solution.read_text())["metadata"]["course"]["forbidden"]:
        if not dotted.startswith("course_lib."):
            continue  # torch's own functions may be shown
        owner, _, attr = dotted.rpartition(".")
        try:
            obj = getattr(importlib.import_module(owner), attr)
        except ImportError:  # a method: module.Class.method
            module, _, cls = owner.rpartition(".")
            obj = getattr(getattr(importlib.import_module(module), cls), attr)
        source = textwrap.dedent(inspect.getsource(obj))
        body = ast.parse(source).body[0].body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # the docstring
        first, last = body[0].lineno, body[-1].end_lineno
        lines += _significant("\n".join(source.splitlines()[first - 1 : last]))
    return lines


def lesson_texts(lesson: Path) -> list[str]:
    """Every text a learner sees in ``lesson``: cell sources and text outputs, one per block."""
    texts = []
    for cell in json.loads(lesson.read_text())["cells"]:
        texts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            texts.append("".join(output.get("text", "")))
            texts.append("".join(output.get("data", {}).get("text/plain", "")))
    return [t for t in texts if t]


def leaks(answer: list[str], texts: list[str]) -> list[str]:
    """Where the answer shows in ``texts``: shared windows, or half its long lines verbatim."""
    found = []
    mine = _windows(answer)
    seen_long = set()
    for text in texts:
        lines = _significant(text)
        shared = mine & _windows(lines)
        if shared:
            found.append(sorted(shared)[0].replace("\n", " | "))
        seen_long |= {line for line in lines if len(line) >= LONG}
    long = [line for line in answer if len(line) >= LONG]
    hits = [line for line in long if line in seen_long]
    if len(long) >= 2 and len(hits) >= len(long) / 2:
        found.append(f"{len(hits)} of {len(long)} long lines: {hits[0]}")
    return found


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_no_lesson_shows_the_answer(solution):
    answer = answer_lines(solution)
    assert len(answer) >= 1, "the solution has an answer region"
    found = {
        lesson.stem: where for lesson in LESSONS if (where := leaks(answer, lesson_texts(lesson)))
    }
    assert not found, f"{solution.stem}'s answer appears in {found}"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_no_lesson_prints_the_reference_the_exercise_forbids(solution):
    reference = reference_lines(solution)
    found = {
        lesson.stem: where
        for lesson in LESSONS
        if (where := leaks(reference, lesson_texts(lesson)))
    }
    assert not found, f"the reference of {solution.stem} appears in {found}"


def test_the_leak_check_finds_a_renamed_copy_and_ignores_other_code():
    answer = _significant(
        "scores = q @ k.transpose(-2, -1) / math.sqrt(d)\n"
        "weights = torch.softmax(scores, dim=-1)  # rows sum to 1\n"
        "return weights @ v, weights\n"
    )
    copy = (
        "s = a @ b.transpose(-2, -1) / math.sqrt(d)\n\n"
        "w = torch.softmax(s, dim=-1)\nreturn w @ c, w"
    )
    assert leaks(answer, [copy])
    assert not leaks(answer, ["s = a @ b.transpose(-2, -1) / math.sqrt(d)\nprint(s)\nw = s.exp()"])
    assert leaks(answer, [copy.replace("\n", "\n# a comment\n")])  # comments do not hide it


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_the_exercise_itself_shows_no_answer_outside_its_answer_cells(solution):
    """The learner's notebook (exercises/) shows its tests: computing an expected value or a
    common mistake's value there must not spell out the answer."""
    exercise = json.loads((COURSE_DIR / "exercises" / solution.name).read_text())
    visible = [
        "".join(cell["source"])
        for cell in exercise["cells"]
        if not cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]
    found = leaks(answer_lines(solution), visible)
    assert not found, f"{solution.stem}'s test cells spell out its answer: {found}"
