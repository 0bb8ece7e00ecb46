"""The course's sandboxed grader behind ``course-grade`` / ``python -m course_lib.grading``: runs
learners' answer cells with the instructor's tests in a jail, compares the values they produce
with the solutions' outside it, writes gradebooks and feedback. No lesson imports it."""

from .grade import Grader, GraderError, exercise_for, exercise_ids
from .sandbox import Limits

__all__ = ["Grader", "GraderError", "Limits", "exercise_for", "exercise_ids"]
