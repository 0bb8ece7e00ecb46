"""The attention machinery every lesson builds on: named-dimension shape checks, masks, scores
and attention, positional encodings, the multi-head attention and transformer block (checked
against torch's), local attention and the measured cost of attention; images as patch tokens
and the glimpse retina of hard attention. Lessons 01, 03, 06 (and, through the lesson packages,
all others)."""
