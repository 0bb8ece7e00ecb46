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


def expect_positive_int(
    value: object,
    name: str,
    minimum: int = 1,
    maximum: int | None = None,
    *,
    minimum_name: str = "",
    note: str = "",
) -> int:
    """Return ``value`` if it is an int (not a bool) in ``[minimum, maximum]``, else raise a
    ``ValueError`` naming the argument and the range expected (``maximum=None``: no upper bound).

    ``minimum_name`` says where a minimum comes from (``">= min_len=8"``); ``note`` is added to
    the message in parentheses, e.g. why the bound is what it is::

        expect_positive_int(0, "steps")  # ValueError: steps: expected a positive int, got 0
        expect_positive_int(-1, "window", minimum=0)  # window: expected an int >= 0, got -1
        expect_positive_int(5, "k", maximum=4)  # k: expected an int in [1, 4], got 5
    """
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if ok and (maximum is None or value <= maximum):
        return value  # type: ignore[return-value]
    if maximum is not None:
        expected = f"an int in [{minimum}, {maximum}]"
    else:
        bound = f"{minimum_name}={minimum}" if minimum_name else f"{minimum}"
        expected = "a positive int" if bound == "1" else f"an int >= {bound}"
    if note:
        expected += f" ({note})"
    raise ValueError(f"{name}: expected {expected}, got {value!r}")


def expect_int(value: object, name: str) -> int:
    """Return ``value`` if it is an int (not a bool), else raise a ``TypeError`` naming the
    argument and the type it got (for seeds and other ints of any sign)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    return value
