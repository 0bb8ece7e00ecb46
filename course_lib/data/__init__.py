"""Seeded data sets generated offline (no downloads), and the vocabulary/padding plumbing.

- ``vocab``: token <-> id maps with special tokens, padding a batch of id lists.
- ``translation``: numbers written out in words (English, German, French, via ``num2words``)
  -> digits, the lesson-02 translation task.
- ``sentiment``: sentences of neutral filler with one deciding phrase (known rationale tokens).
- ``documents``: long generated reports whose key people and place must be copied out.
"""
