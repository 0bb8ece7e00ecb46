"""The lessons' trained checkpoints: one store (``store``) and one module per lesson
(``lesson02`` ... ``lesson05``) with the same API (``NAMES``, ``build``, ``train``, ``load``);
the weights lie in ``weights/``. ``python -m course_lib.checkpoints LESSON [NAME...]`` retrains."""
