"""Helper library of the attention course. ``course_lib/README.md`` is the map: ``core/``
(attention itself), one folder per part of the course (``language/``, ``vision/``, ``hard/``,
``explain/``), what lessons share (``data/``, ``train/``, ``viz/``), the trained models
(``checkpoints/``), tooling no lesson imports (``tools/``, ``grading/``), and the modules a
notebook or an exercise imports directly: ``check``, ``common_mistakes``, ``record``,
``environment``.
"""

__version__ = "0.1.0"
