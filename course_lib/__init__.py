"""Helper library of the attention course: the plumbing the lessons import.

Modules by concept: ``attention`` (scoring functions), ``masks`` (masks, masked softmax),
``shapes`` (named-dimension errors), ``plots`` (heatmaps), ``training`` (seeded loop),
``check`` (learner feedback), ``bench`` (headline numbers), ``grading`` (the grader).
"""

__version__ = "0.1.0"
