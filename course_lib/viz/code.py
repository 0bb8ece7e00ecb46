"""Show the course's own code in a lesson — never an exercise's answer."""

from __future__ import annotations

import inspect
import textwrap

from IPython.display import Code

from course_lib.mine import answer_references


def dotted_name(obj: object) -> str:
    """``module.Qualified.name`` of a function, method or class."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname:
        raise TypeError(f"obj: expected a function, method or class, got {type(obj).__name__}")
    return f"{module}.{qualname}"


def gives_an_answer(dotted: str) -> str | None:
    """The exercise answer that showing ``dotted`` would reveal, or None."""
    for answer in sorted(answer_references()):
        if dotted == answer or answer.startswith(f"{dotted}.") or dotted.startswith(f"{answer}."):
            return answer
    return None


def show_code(obj: object) -> Code:
    """The source of ``obj`` (a course function, method or class), highlighted in the notebook.

    Refuses code that an exercise asks the learner to write (it is forbidden to their answer)."""
    dotted = dotted_name(obj)
    if not dotted.startswith("course_lib."):
        raise ValueError(f"obj: expected the course's own code, got {dotted}")
    answer = gives_an_answer(dotted)
    if answer is not None:
        raise ValueError(f"obj: {dotted} would show the answer to an exercise ({answer})")
    return Code(textwrap.dedent(inspect.getsource(obj)), language="python")
