"""Publishing tools, never imported by a lesson: ``make bench`` (``benchmark``), the course
site and slides (``site``, ``slides``, ``html_export``, ``templates/``) and ``make exercises``
(``exercises``: learner notebooks generated from ``solutions/``)."""
