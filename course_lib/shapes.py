"""Named-dimension shape checks: errors that say which argument and which dimension is wrong."""

from __future__ import annotations

import torch


def expect_tensor(x: object, name: str) -> torch.Tensor:
    """Return ``x`` if it is a tensor, else raise a ``TypeError`` naming the argument."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    return x


def expect_shape(x: object, dims: str, name: str) -> dict[str, int]:
    """Check that ``x`` has one axis per name in ``dims`` and return their sizes.

    ``dims`` is a comma-separated list such as ``"batch, queries, d"``; a name that is an
    integer (``"batch, 3"``) must have exactly that size. Example::

        sizes = expect_shape(q, "batch, queries, d", name="q")   # {"batch": 2, ...}
    """
    x = expect_tensor(x, name)
    names = [d.strip() for d in dims.split(",") if d.strip()]
    if x.dim() != len(names):
        raise ValueError(
            f"{name}: expected {len(names)} dims ({', '.join(names)}), "
            f"got {x.dim()} dims with shape {tuple(x.shape)}"
        )
    sizes: dict[str, int] = {}
    for axis, (dim, size) in enumerate(zip(names, x.shape, strict=True)):
        if dim.isdigit() and int(dim) != size:
            raise ValueError(f"{name}: dim {axis} must have size {dim}, got shape {tuple(x.shape)}")
        sizes[dim] = int(size)
    return sizes


def expect_match(what: str, sizes: dict[str, int]) -> int:
    """Check that sizes from several arguments agree, e.g. ``{"q.d": 8, "k.d": 4}``.

    Raises a ``ValueError`` that lists each argument's size; returns the common size.
    """
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{label}={size}" for label, size in sizes.items())
        raise ValueError(f"{what} must match, got {listed}")
    return next(iter(sizes.values()))
