"""Hostile and broken submissions: each family ends with the right verdict (issue: grader for
a real class). A wrong answer scores 0 whatever it patches; a right one keeps its points."""

import os
import subprocess
import time

import pytest

from course_lib.grading import Grader, Limits
from tests.grading.helpers import COURSE_DIR, submission
from tests.grading.test_grader import CORRECT_MASKED, WRONG_MASKED

EX = "01_masked_softmax"
ANSWER = "masked_softmax_answer"
NEEDS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="namespace sandbox needs root")


@pytest.fixture(scope="module")
def tight() -> Grader:
    """A grader with small caps, its reference already computed (not part of timed runs)."""
    limits = Limits(timeout=10, memory_mb=2048, output_mb=2)
    with Grader(COURSE_DIR, limits, hide=[COURSE_DIR / "tests"]) as grader:
        grader.reference(grader.exercise(EX))
        yield grader


def verdict(grader, tmp_path, answer, edit=None, name=None):
    return grader.grade(submission(tmp_path, EX, {ANSWER: answer}, edit=edit, name=name))


def test_sandbox_is_used_when_grading_as_root(tight):
    assert tight.isolation == ("namespace" if os.geteuid() == 0 else "process")


PATCHES = {
    "builtins": """
import builtins
builtins.isinstance = lambda *a: True
builtins.abs = lambda x: 0
builtins.max = lambda *a, **k: 0
""",
    "exception hooks": """
import sys
sys.excepthook = lambda *a: None
sys.displayhook = lambda *a: None
""",
    "IPython input transformers": """
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: ["pass\\n"])  # every later cell does nothing
""",
    "IPython custom exception handler": """
get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
""",
    "check helpers replaced by no-ops": """
from course_lib import check
check.close = check.equal = check.shape = check.raises = lambda *a, **k: None
check.RECORDER = None
""",
}


@pytest.mark.parametrize("patch", list(PATCHES))
def test_patched_builtins_hooks_and_transformers_score_zero(grader, tmp_path, patch):
    result = verdict(grader, tmp_path, PATCHES[patch] + WRONG_MASKED)
    assert result["score"] == 0


LIARS = {
    "__eq__ always true": """
class Liar(torch.Tensor):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
def masked_softmax(scores, mask):
    return torch.zeros_like(scores).as_subclass(Liar)
""",
    "__torch_function__ answering every call": """
class Sneaky(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func.__name__ in ("allclose", "equal", "__eq__", "isclose"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
def masked_softmax(scores, mask):
    return torch.rand_like(scores).as_subclass(Sneaky)
""",
    "subclass whose numpy() lies": """
class Fake(torch.Tensor):
    def numpy(self, *a, **k): return __import__("numpy").zeros(tuple(self.shape))
def masked_softmax(scores, mask):
    return torch.softmax(scores, -1).as_subclass(Fake)
""",
    "wrong dtype (integers)": CORRECT_MASKED.replace(
        "return torch.nan_to_num(weights, nan=0.0)",
        "return torch.nan_to_num(weights).round().long()",
    ),
    "wrong shape": CORRECT_MASKED.replace(
        "return torch.nan_to_num(weights, nan=0.0)", "return torch.nan_to_num(weights)[None]"
    ),
    "NaN everywhere": """
def masked_softmax(scores, mask):
    return torch.full_like(scores, float("nan"))
""",
    "a list instead of a tensor": CORRECT_MASKED.replace(
        "return torch.nan_to_num(weights, nan=0.0)", "return torch.nan_to_num(weights).tolist()"
    ),
}


@pytest.mark.parametrize("liar", list(LIARS))
def test_objects_that_lie_score_zero(grader, tmp_path, liar):
    result = verdict(grader, tmp_path, LIARS[liar])
    assert result["status"] == "graded"
    assert result["score"] == 0, result["tests"]


def test_right_values_in_float64_keep_full_marks(grader, tmp_path):
    answer = CORRECT_MASKED.replace(
        "return torch.nan_to_num(weights, nan=0.0)", "return torch.nan_to_num(weights).double()"
    )
    result = verdict(grader, tmp_path, answer)
    assert result["score"] == result["max_score"]


def _grade_cells(nb):
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


TAMPERING = {
    "test cells reordered, answer moved last": lambda nb: nb["cells"].sort(
        key=lambda c: bool(c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    ),
    "test cells deleted": lambda nb: [nb["cells"].remove(c) for c in _grade_cells(nb)],
    "wrong kernel name": lambda nb: nb["metadata"].update(
        kernelspec={"name": "ir", "display_name": "R", "language": "R"}
    ),
    "notebook metadata stripped": lambda nb: nb.update(metadata={}),
    "fake passing outputs": lambda nb: [
        c.update(
            outputs=[{"output_type": "stream", "name": "stdout", "text": "\u2714 passed\n"}],
            execution_count=1,
        )
        for c in _grade_cells(nb)
    ],
    "hidden test cell added with 100 points": lambda nb: nb["cells"].append(
        {
            "cell_type": "code",
            "metadata": {
                "nbgrader": {"grade": True, "grade_id": "bonus", "points": 100, "solution": False}
            },
            "source": "check.close('x', torch.ones(1), expected=torch.ones(1))",
            "outputs": [],
            "execution_count": None,
        }
    ),
}


@pytest.mark.parametrize("tamper", list(TAMPERING))
def test_tampered_notebooks_change_nothing(grader, tmp_path, tamper):
    right = verdict(grader, tmp_path, CORRECT_MASKED, edit=TAMPERING[tamper])
    assert right["score"] == right["max_score"] == 5
    assert [t["name"] for t in right["tests"]] == [
        "masked_padding",
        "masked_causal",
        "masked_empty_row",
    ]
    (tmp_path / "wrong").mkdir()
    wrong = verdict(grader, tmp_path / "wrong", WRONG_MASKED, edit=TAMPERING[tamper])
    assert wrong["score"] == 0


RESOURCES = {
    "sleep": ("import time\ntime.sleep(1000)\n", "timeout"),
    "memory growth to many GB": (
        "blocks = []\nwhile True:\n    blocks.append(bytearray(2**28))\n",
        "memory",
    ),
    "one huge allocation": ("import torch\nbig = torch.empty(2**34)\n", "memory"),
    "os._exit": ("import os\nos._exit(0)\n", "crashed"),
    "segfault": ("import ctypes\nctypes.string_at(0)\n", "crashed"),
    "SystemExit": ("raise SystemExit(3)\n", "graded"),
    "tens of MB of output": (
        "import sys\nfor _ in range(60):\n    sys.stdout.write('x' * 2**20)\n",
        "output",
    ),
    "fork bomb": (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
        "        break\nimport time\ntime.sleep(1000)\n",
        "timeout",
    ),
}


@pytest.mark.parametrize("attack", list(RESOURCES))
def test_resource_attacks_end_with_a_status_and_zero(tight, tmp_path, attack):
    code, status = RESOURCES[attack]
    start = time.monotonic()
    result = verdict(tight, tmp_path, code + WRONG_MASKED)
    assert time.monotonic() - start < tight.limits.timeout + 10
    assert result["status"] == status, result["detail"]
    assert result["score"] == 0


def test_resource_attack_after_correct_work_keeps_earlier_points(tight, tmp_path):
    # The answer is right, but the process dies during the third test cell.
    answer = (
        CORRECT_MASKED
        + """
import ctypes
_inner = masked_softmax
def masked_softmax(scores, mask):
    if tuple(scores.shape) == (1, 3, 4):
        ctypes.string_at(0)
    return _inner(scores, mask)
"""
    )
    result = verdict(tight, tmp_path, answer)
    assert result["status"] == "crashed" and "SIGSEGV" in result["detail"]
    assert result["score"] == 4


@NEEDS_ROOT
def test_detached_processes_do_not_survive(tight, tmp_path):
    marker = "876543"
    answer = (
        f"""
import os, subprocess
subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    os.execvp("sleep", ["sleep", "{int(marker) + 1}"])
"""
        + CORRECT_MASKED
    )
    result = verdict(tight, tmp_path, answer)
    assert result["score"] == result["max_score"]
    time.sleep(0.5)
    alive = subprocess.run(["pgrep", "-f", f"sleep {marker[:-1]}"], capture_output=True, text=True)
    assert alive.stdout.strip() == ""


@NEEDS_ROOT
def test_learner_code_cannot_read_solutions_tests_or_other_submissions(tight, tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "bob").mkdir()
    ada = submission(tmp_path / "ada", EX, {ANSWER: CORRECT_MASKED})
    # Bob's code looks for a correct masked_softmax in every place it might read one.
    thief = f"""
import glob, json, os
found = []
for path in [{str(ada)!r}, *glob.glob({str(COURSE_DIR)!r} + "/solutions/*.ipynb"),
             *glob.glob({str(COURSE_DIR)!r} + "/tests/**/*.py", recursive=True),
             {str(COURSE_DIR / ".git")!r}]:
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        continue
    found.append(path)
    if path.endswith(".ipynb"):
        for cell in json.loads(text)["cells"]:
            code = "".join(cell["source"])
            if "def masked_softmax" in code and "NotImplemented" not in code:
                exec(code)
    else:
        start = text.find("CORRECT_MASKED = ")
        if start >= 0:
            exec(text[start:].split("'''")[1])
if "masked_softmax" not in globals():
    def masked_softmax(scores, mask):
        return torch.softmax(scores, dim=-1)
print("readable:", found)
"""
    bob_path = submission(tmp_path / "bob", EX, {ANSWER: thief})
    grader = Grader(COURSE_DIR, tight.limits, hide=[tmp_path])
    assert grader.isolation == "namespace"
    bob = grader.grade(bob_path)
    assert bob["status"] == "graded"
    assert bob["score"] == 0, bob["tests"]
    # The same code where the files are readable (no namespace sandbox) steals full marks.
    unsafe = Grader(COURSE_DIR, tight.limits, hide=[tmp_path], mode="process")
    assert unsafe.grade(bob_path)["score"] == 5


def test_calling_the_course_reference_is_rejected(grader, tmp_path):
    direct = "from course_lib.core.masks import masked_softmax\n"
    alias = (
        "import course_lib.core.attention\n"
        "masked_softmax = course_lib.core.attention.masked_softmax\n"
    )
    for name, answer in (("direct", direct), ("alias", alias)):
        (tmp_path / name).mkdir()
        result = verdict(grader, tmp_path / name, answer)
        assert result["score"] == 0
        assert "reference for this exercise" in result["tests"][0]["message"]


def test_torch_reference_is_rejected_in_the_warm_up(grader, tmp_path):
    answer = "def softmax(x):\n    return x.softmax(-1)\n"
    result = grader.grade(submission(tmp_path, "00_warmup", {"softmax_answer": answer}))
    assert result["score"] == 0
    assert "torch.Tensor.softmax is the reference" in result["tests"][0]["message"]


def test_without_the_zygote_the_same_verdicts_hold(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_GRADE_ZYGOTE", "0")
    grader = Grader(COURSE_DIR, Limits(timeout=10, memory_mb=2048, output_mb=2))
    assert grader._zygote() is None
    right = verdict(grader, tmp_path, CORRECT_MASKED)
    assert right["score"] == 5 and right["status"] == "graded"
    for name, code in (("loop", "while True:\n    pass\n"), ("segv", RESOURCES["segfault"][0])):
        (tmp_path / name).mkdir()
        result = verdict(grader, tmp_path / name, code + WRONG_MASKED)
        assert result["score"] == 0
        assert result["status"] == {"loop": "timeout", "segv": "crashed"}[name]


def test_no_other_learners_code_in_inherited_memory(grader, tmp_path):
    marker = "ZX" + "Q7_SECRET_ANSWER_MARKER"
    (tmp_path / "ada").mkdir()
    (tmp_path / "bob").mkdir()
    ada = verdict(grader, tmp_path / "ada", f"# {marker}\n" + CORRECT_MASKED)
    assert ada["score"] == 5
    # Bob scans every writable region of his own process for Ada's answer.
    scan = """
import re
needle = ("ZX" + "Q7_SECRET_ANSWER_MARKER").encode()
found = b""
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        start, end = (int(x, 16) for x in line.split()[0].split("-"))
        if "rw" not in line.split()[1] or end - start > 2**30:
            continue
        try:
            mem.seek(start)
            chunk = mem.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue
        hit = chunk.find(needle)
        while hit >= 0 and not found:
            if b"def masked_softmax" in chunk[hit:hit + 400]:
                found = chunk[hit:hit + 400]
            hit = chunk.find(needle, hit + 1)
if found:
    exec(found.split(needle, 1)[1].decode(errors="ignore").split("\\x00")[0])
else:
    def masked_softmax(scores, mask):
        return torch.softmax(scores, dim=-1)
"""
    bob = verdict(grader, tmp_path / "bob", scan)
    assert bob["status"] == "graded"
    assert bob["score"] == 0


def test_a_dead_zygote_falls_back_and_restarts(tmp_path):
    with Grader(COURSE_DIR, Limits(timeout=30)) as grader:
        first = grader._zygote()
        assert first is not None
        first.proc.kill()
        first.proc.wait()
        result = verdict(grader, tmp_path, CORRECT_MASKED)  # this run falls back to exec
        assert result["status"] == "graded" and result["score"] == 5
        second = grader._zygote()
        assert second is not None and second is not first and second.proc.poll() is None


@NEEDS_ROOT
def test_memory_of_the_whole_process_tree_is_capped(tight, tmp_path):
    # Each process stays under the per-process address-space cap; together they do not.
    answer = (
        """
import os, time
for _ in range(6):
    if os.fork() == 0:
        block = bytearray(600 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page
        time.sleep(60)
        os._exit(0)
time.sleep(60)
"""
        + WRONG_MASKED
    )
    from course_lib.grading import cgroups

    if cgroups.prepare(0, 2048, 256) is None:
        pytest.skip("no writable memory cgroup on this machine")
    start = time.monotonic()
    result = verdict(tight, tmp_path, answer)
    assert result["status"] == "memory", result["detail"]
    assert result["score"] == 0
    assert time.monotonic() - start < tight.limits.timeout
