"""The course's grader: ``course-grade`` / ``python -m course_lib.grading``."""

from .grade import Grader, GraderError, exercise_for, exercise_ids
from .sandbox import Limits

__all__ = ["Grader", "GraderError", "Limits", "exercise_for", "exercise_ids"]
