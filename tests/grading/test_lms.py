"""Canvas and Moodle downloads in, their grade imports out (layouts as the vendors write them:
Canvas's ContentZipper, Moodle's mod/assign download and offline grading worksheet)."""

import csv
import json

import pytest

from course_lib.grading.lms import CANVAS_COLUMNS, MOODLE_COLUMNS, collect, detect
from tests.grading.helpers import COURSE_DIR, submission
from tests.grading.test_grader import CORRECT_MASKED, WRONG_MASKED, run_cli

OK = {"masked_softmax_answer": CORRECT_MASKED}
WRONG = {"masked_softmax_answer": WRONG_MASKED}


def canvas_download(folder):
    """A Canvas "Download Submissions" folder: flat, <name>[_LATE]_<user>_<file>_<upload>."""
    folder.mkdir()
    submission(folder, "01_masked_softmax", OK, name="doejane_123456_7890123_01_masked_softmax")
    submission(
        folder, "01_masked_softmax", OK, name="smithbob_LATE_222_333_01_masked_softmax-1"
    )  # late, and a re-upload of the same name
    submission(folder, "01_masked_softmax", WRONG, name="obrien_444_555_01_masked_softmax")
    submission(folder, "00_warmup", name="o_hara_888_999_00_warmup")  # "_" kept in a name
    (folder / "doejane_123456_7890124_notes.pdf").write_bytes(b"%PDF-1.4")
    submission(folder, "01_masked_softmax", OK, name="leeann_777_1000_homework")  # no exercise
    return folder


def moodle_download(folder, flat=False):
    """A Moodle "Download all submissions" folder: per-student folders (default) or flat."""
    folder.mkdir()

    def place(prefix, exercise, answers=None, sub=""):
        if flat:
            return submission(folder, exercise, answers, name=f"{prefix}{exercise}")
        target = folder / prefix / sub
        target.mkdir(parents=True, exist_ok=True)
        return submission(target, exercise, answers)

    place("Jane Doe_12345_assignsubmission_file_", "01_masked_softmax", OK)
    place("Bob Smith_12346_assignsubmission_file_", "01_masked_softmax", WRONG, sub="week1")
    place("Participant_12347_assignsubmission_file_", "01_masked_softmax", OK)  # blind marking
    if not flat:
        text = folder / "Ann Lee_12348_assignsubmission_onlinetext_"
        text.mkdir()
        (text / "onlinetext.html").write_text("<p>see attached</p>")
    return folder


def test_canvas_files_map_to_student_exercise_and_late_marker(tmp_path):
    folder = canvas_download(tmp_path / "canvas")
    assert detect(folder) == "canvas"
    found = {s.path.name: s for s in collect([folder], COURSE_DIR).submissions}
    assert len(found) == 6  # every file, the PDF too
    jane = found["doejane_123456_7890123_01_masked_softmax.ipynb"]
    assert (jane.student, jane.exercise, jane.lms_id, jane.late) == (
        "doejane_123456",
        "01_masked_softmax",
        "123456",
        False,
    )
    bob = found["smithbob_LATE_222_333_01_masked_softmax-1.ipynb"]
    assert (bob.student, bob.exercise, bob.late, bob.original) == (
        "smithbob_222",
        "01_masked_softmax",
        True,
        "01_masked_softmax-1.ipynb",
    )
    hara = found["o_hara_888_999_00_warmup.ipynb"]
    assert (hara.name, hara.lms_id, hara.exercise) == ("o_hara", "888", "00_warmup")
    pdf = found["doejane_123456_7890124_notes.pdf"]
    assert pdf.student == "doejane_123456" and "not a notebook" in pdf.problem
    unknown = found["leeann_777_1000_homework.ipynb"]
    assert unknown.exercise is None and "homework.ipynb" in unknown.problem
    anon = collect([tmp_path / "canvas"], COURSE_DIR, "canvas").submissions
    assert all(s.layout == "canvas" for s in anon)


def test_canvas_anonymous_names(tmp_path):
    (tmp_path / "a").mkdir()
    submission(tmp_path / "a", "01_masked_softmax", name="LATE_anon_Xk3Pq_31337_01_masked_softmax")
    [sub] = collect([tmp_path / "a"], COURSE_DIR, "canvas").submissions
    assert (sub.student, sub.lms_id, sub.late, sub.exercise) == (
        "anon_Xk3Pq",
        "anon_Xk3Pq",
        True,
        "01_masked_softmax",
    )


@pytest.mark.parametrize("flat", [False, True], ids=["folders", "flat"])
def test_moodle_files_map_to_participant_and_exercise(tmp_path, flat):
    folder = moodle_download(tmp_path / "moodle", flat=flat)
    assert detect(folder) == "moodle"
    subs = collect([folder], COURSE_DIR).submissions
    by_student = {s.student: s for s in subs}
    assert by_student["Jane Doe_12345"].exercise == "01_masked_softmax"
    assert by_student["Jane Doe_12345"].lms_id == "12345"
    assert by_student["Bob Smith_12346"].exercise == "01_masked_softmax"  # nested folder
    assert by_student["Participant_12347"].name == "Participant"
    if not flat:
        assert "onlinetext" in by_student["Ann Lee_12348"].problem
    assert len(subs) == (3 if flat else 4)
    assert all(s.layout == "moodle" for s in subs)


def test_a_plain_class_folder_is_not_taken_for_an_lms_download(tmp_path):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    submission(tmp_path / "class" / "ada", "01_masked_softmax")
    (tmp_path / "class" / "ada" / "data.csv").write_text("x\n")
    assert detect(tmp_path / "class") == "folders"
    [sub] = collect([tmp_path / "class"], COURSE_DIR).submissions
    assert (sub.student, sub.exercise, sub.problem) == ("ada", "01_masked_softmax", "")


def test_canvas_download_graded_and_exported_for_canvas_import(tmp_path):
    folder = canvas_download(tmp_path / "canvas")
    out = tmp_path / "canvas.csv"
    done = run_cli(
        folder,
        "--json",
        "--csv",
        tmp_path / "gradebook.csv",
        "--lms-csv",
        "canvas",
        out,
        "--lms-assignment",
        "01_masked_softmax=Masked softmax (4321)",
        "--deadline",
        "2025-03-01T23:59:00+00:00",
        "--late-penalty",
        "10%/day",
    )
    assert done.returncode == 0, done.stderr
    results = {
        r["submission"].rsplit("/", 1)[1]: r for r in map(json.loads, done.stdout.split("\n")[:-1])
    }
    assert len(results) == 6  # nothing dropped
    assert "5 of 6 files mapped" not in done.stderr and "4 of 6 files mapped" in done.stderr
    assert "could not map" in done.stderr and "doejane_123456_7890124_notes.pdf" in done.stderr
    jane = results["doejane_123456_7890123_01_masked_softmax.ipynb"]
    assert jane["student"] == "doejane_123456" and jane["score"] == 5
    assert jane["lms"]["id"] == "123456" and jane["late"]["source"] == "Canvas (no LATE marker)"
    bob = results["smithbob_LATE_222_333_01_masked_softmax-1.ipynb"]
    assert bob["graded_score"] == 5 and bob["score"] == 4.5  # one day's 10 %
    assert bob["late"]["source"] == "Canvas LATE marker" and "late by 1 day" in bob["detail"]
    assert results["obrien_444_555_01_masked_softmax.ipynb"]["score"] == 0
    assert results["doejane_123456_7890124_notes.pdf"]["status"] == "invalid"
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    # Canvas's import: these five identity columns, then one column per assignment.
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] + [
        "00_warmup",
        "Masked softmax (4321)",
    ]
    assert rows[0][:5] == CANVAS_COLUMNS
    by_id = {row[1]: row for row in rows[1:]}
    assert set(by_id) == {"123456", "222", "444", "888", "777"}
    assert by_id["123456"][0] == "doejane" and by_id["123456"][6] == "5"
    assert by_id["222"][6] == "4.5" and by_id["444"][6] == "0"
    assert by_id["888"][5] == "0" and by_id["888"][6] == ""


def test_moodle_download_graded_and_exported_as_grading_worksheet(tmp_path):
    folder = moodle_download(tmp_path / "moodle")
    worksheet = tmp_path / "downloaded_worksheet.csv"  # Moodle's own export, with its times
    worksheet.write_text(
        "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
        "Last modified (submission),Last modified (grade),Feedback comments\n"
        '"Participant 12345","Jane Doe",jane@example.com,"Submitted for grading",,5.00,Yes,'
        '"Saturday, 1 March 2025, 11:00 PM",-,\n'
        '"Participant 12347","Participant",p@example.com,"Submitted for grading",,5.00,Yes,'
        '"Monday, 3 March 2025, 10:00 AM",-,\n'
    )
    out = tmp_path / "moodle.csv"
    done = run_cli(
        folder,
        "--json",
        "--lms-csv",
        "moodle",
        out,
        "--deadline",
        "2025-03-01T23:59:00",
        "--late-penalty",
        "10%/day",
        "--late-cap",
        "15%",
        "--submission-times",
        worksheet,
    )
    assert done.returncode == 0, done.stderr
    results = {r["student"]: r for r in map(json.loads, done.stdout.split("\n")[:-1])}
    assert results["Jane Doe_12345"]["late"]["source"] == "Moodle worksheet"
    assert results["Jane Doe_12345"]["score"] == 5  # 23:00 < 23:59: on time
    late = results["Participant_12347"]
    assert late["late"]["units_late"] == 2 and late["score"] == 4.25  # 20 %, capped at 15 %
    assert results["Bob Smith_12346"]["late"]["source"] == "file mtime"  # not in the worksheet
    assert "onlinetext" in results["Ann Lee_12348"]["detail"]
    with out.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = {row[0]: row for row in reader}
    assert header == MOODLE_COLUMNS
    assert {"Identifier", "Grade", "Last modified (grade)"} <= set(header)  # what Moodle needs
    assert set(rows) == {"Participant 12345", "Participant 12346", "Participant 12347"}
    assert rows["Participant 12345"][1:4] == ["Jane Doe", "5", "5"]
    assert (
        rows["Participant 12347"][2] == "4.25" and "late by 2 days" in rows["Participant 12347"][5]
    )
    assert (
        rows["Participant 12346"][2] == "0"
        and "failed: masked_padding" in rows["Participant 12346"][5]
    )


def test_lms_usage_errors(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    submission(folder, "00_warmup")
    bad = run_cli(folder, "--lms-csv", "blackboard", tmp_path / "x.csv")
    assert bad.returncode == 2 and "canvas or moodle" in bad.stderr
    bad = run_cli(folder, "--lms-assignment", "nope=Label (1)")
    assert bad.returncode == 2 and "unknown exercise" in bad.stderr
