"""Record a lesson's headline numbers so ``make bench`` can collect them.

A lesson calls :func:`record` once per headline number; the returned object shows the
number as a sentence in the notebook. When ``make bench`` executes the notebook it sets
``COURSE_BENCH_FILE`` and every recorded number is also written there as JSON.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "COURSE_BENCH_FILE"
#: Every lesson's recorded numbers, as ``make bench`` last measured them.
RESULTS_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "results.json"
_NAME = re.compile(r"^[a-z][a-zA-Z0-9_]*$")  # snake_case; capitals allowed after the start


@dataclass(frozen=True)
class Measured:
    """A recorded number; shows as one Markdown line in a notebook."""

    name: str
    value: float
    text: str

    def _repr_markdown_(self) -> str:
        return f"**Measured** `{self.name}` = **{self.value:.4g}** — {self.text}"

    def __repr__(self) -> str:
        return f"Measured {self.name} = {self.value:.4g} ({self.text})"

    def __float__(self) -> float:
        return self.value


def record(name: str, value: float, text: str = "") -> Measured:
    """Record headline metric ``name`` (snake_case, e.g. ``stn_error_RTS``), a finite ``value``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name: expected snake_case like 'mt_exact_match', got {name!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"value: expected a number, got {type(value).__name__}") from None
    if not math.isfinite(value):
        raise ValueError(f"value: expected a finite number for {name!r}, got {value}")
    path = os.environ.get(ENV_VAR)
    if path:
        file = Path(path)
        metrics = json.loads(file.read_text()) if file.exists() else {}
        metrics[name] = value
        file.write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return Measured(name, value, text)


class Measurements(list):
    """A lesson's recorded numbers, collected as it runs (``measured.append(record(...))``) and
    shown together, one line each, when the notebook's last cell displays the list."""

    def append(self, item: Measured) -> None:
        if not isinstance(item, Measured):
            raise TypeError(f"item: expected what record() returns, got {type(item).__name__}")
        super().append(item)

    def _repr_markdown_(self) -> str:
        if not self:
            return "*Nothing was recorded: the cells that measure have not run.*"
        return "\n".join(f"- {m._repr_markdown_()}" for m in self)


def read_results(path: Path | str = RESULTS_FILE) -> dict:
    """``benchmarks/results.json`` parsed; ``{"lessons": {}}`` if ``make bench`` never wrote it."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {"lessons": {}}
