"""Argument checks at the boundaries a reader touches, written once and used everywhere.

Every message has one voice, ``"<argument>: expected <what>, got <what>[; <fix>]"``, for example

    x: expected a float tensor [N, 1, 28, 28] in [-1, 1], got a uint8 tensor [8, 1, 28, 28]; convert
    uint8 pixels with gantutor.data.to_signed

Type, dtype and shape checks cost no more than a Python attribute lookup and always run. Checks that
read the values (NaN, infinity, range) reduce a whole tensor, so the training core switches them off for
its own inner calls with :func:`trusted` (the divergence guard watches the losses there instead); a
reader's direct call is always checked.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import threading
from pathlib import Path
from typing import Iterable, Optional, Sequence, Tuple

import numpy as np
import torch

Tensor = torch.Tensor


class _State(threading.local):
    values = True  # False inside the training loop (see trusted)


_STATE = _State()


def checking_values() -> bool:
    """True unless inside :func:`trusted`: whether checks that read tensor values (NaN, range) run."""
    return _STATE.values


@contextlib.contextmanager
def trusted():
    """Inside this block value checks (NaN, range) are skipped; shape and type checks still run. The
    training core wraps its steps in it: per step it costs one flag write."""
    before = _STATE.values
    _STATE.values = False
    try:
        yield
    finally:
        _STATE.values = before


class ArgumentTypeError(TypeError, ValueError):
    """A value of the wrong type (None, a list, a string, a uint8 tensor where floats are expected). Both
    a TypeError and a ValueError, so ``except ValueError`` catches every bad argument."""


class UnknownNameError(KeyError, ValueError):
    """A name (a loss, a style, a device) that is not one of the options; printed without KeyError's quotes."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def describe(x) -> str:
    """A short description of a value for an error message: 'a uint8 tensor of shape [8, 1, 28, 28]', 'None',
    "the string 'abc'", 'a list of 3 items', 'a numpy float64 array (3, 4)', 'the float nan'."""
    if x is None:
        return "None"
    if isinstance(x, Tensor):
        dtype = str(x.dtype).replace("torch.", "")
        return f"a {dtype} tensor of shape [{', '.join(map(str, x.shape))}]" if x.ndim else f"a {dtype} scalar tensor"
    if isinstance(x, np.ndarray):
        return f"a numpy {x.dtype} array {tuple(x.shape)}"
    if isinstance(x, str):
        return f"the string {x!r}"
    if isinstance(x, bool):
        return f"the bool {x}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of {len(x)} item{'s' if len(x) != 1 else ''}"
    if isinstance(x, numbers.Number):
        return f"the {type(x).__name__} {x!r}"
    return f"a {type(x).__name__}"


def fail(name: str, expected: str, got, fix: Optional[str] = None, error: type = ValueError):
    """Raise ``error`` with the message ``"name: expected <expected>, got <got>[; fix]"``. ``got`` is a
    string (used as is) or any value (described by :func:`describe`)."""
    got = got if isinstance(got, str) else describe(got)
    error = {TypeError: ArgumentTypeError, KeyError: UnknownNameError}.get(error, error)
    raise error(f"{name}: expected {expected}, got {got}" + (f"; {fix}" if fix else ""))


# -- numbers -------------------------------------------------------------------------------------------
def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def integer(name: str, v, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """An int (numpy integers accepted) within [minimum, maximum]; bools, floats and strings refused."""
    what = "an integer" + _bounds(minimum, maximum)
    if maximum is None and minimum in (0, 1):
        what = "a positive integer" if minimum == 1 else "a non-negative integer"
    if not _is_int(v):
        fail(name, what, describe(v), error=TypeError)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        fail(name, what, describe(v))
    return int(v)


def positive_int(name: str, v) -> int:
    """An integer >= 1."""
    return integer(name, v, minimum=1)


def non_negative_int(name: str, v) -> int:
    """An integer >= 0."""
    return integer(name, v, minimum=0)


def _bounds(low, high, low_open: bool = False, high_open: bool = False) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


def finite_number(name: str, v, low: Optional[float] = None, high: Optional[float] = None,
                  low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number (int or float, not bool) within the given bounds."""
    what = "a finite number" + _bounds(low, high, low_open, high_open)
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.floating, np.integer)):
        fail(name, what, describe(v), error=TypeError)
    v = float(v)
    if not math.isfinite(v) or (low is not None and (v <= low if low_open else v < low)) \
            or (high is not None and (v >= high if high_open else v > high)):
        fail(name, what, describe(v))
    return v


def positive_number(name: str, v) -> float:
    """A finite number > 0."""
    return finite_number(name, v, low=0.0, low_open=True)


def probability(name: str, v, open_low: bool = False, open_high: bool = False) -> float:
    """A number in [0, 1] (either end open on request)."""
    return finite_number(name, v, 0.0, 1.0, open_low, open_high)


def boolean(name: str, v) -> bool:
    """True or False (numpy bools accepted); strings, None and numbers refused ('no' is truthy)."""
    if not isinstance(v, (bool, np.bool_)):
        fail(name, "True or False", describe(v), error=TypeError)
    return bool(v)


def one_of(name: str, v, options: Iterable, what: str = "one of"):
    """``v`` if it is among ``options``; else a message listing them."""
    options = list(options)
    try:
        ok = v in options
    except TypeError:  # an unhashable value against dict keys
        ok = False
    if not ok:
        fail(name, f"{what} {options}", repr(v) if isinstance(v, str) else v, error=KeyError if isinstance(v, str) else ValueError)
    return v


def shape_tuple(name: str, v, length: Optional[int] = None) -> Tuple[int, ...]:
    """A non-empty sequence of positive integers (a shape), returned as a tuple."""
    what = f"a sequence of {length or 'one or more'} positive integers"
    if isinstance(v, (str, bytes)) or not isinstance(v, (Sequence, torch.Size, np.ndarray)) \
            or len(v) == 0 or (length is not None and len(v) != length) \
            or not all(_is_int(s) and s >= 1 for s in v):
        fail(name, what, describe(v) if not isinstance(v, (list, tuple)) else repr(tuple(v)), error=TypeError)
    return tuple(int(s) for s in v)


def path_like(name: str, v) -> Path:
    """A str or os.PathLike naming a file."""
    if not isinstance(v, (str, Path)) or str(v) == "":
        fail(name, "a file path (str or pathlib.Path)", describe(v), error=TypeError)
    return Path(v)


# -- tensors -------------------------------------------------------------------------------------------
def tensor_like(name: str, x, what: str = "a torch.Tensor", numpy: bool = True) -> Tensor:
    """``x`` as a tensor: tensors pass, numpy arrays are converted (``numpy=True``) with
    ``torch.from_numpy`` (sharing memory), and anything else (None, a list, a string) is refused with
    the way to build a tensor."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray) and numpy:
        if x.dtype == object or x.dtype.kind in "USV":
            fail(name, what, describe(x), error=TypeError)
        return torch.from_numpy(np.ascontiguousarray(x))
    fix = "build one with torch.tensor(...)" if isinstance(x, (list, tuple)) else None
    if isinstance(x, np.ndarray):
        fix = "convert it with torch.from_numpy(...)"
    fail(name, what, describe(x), fix, error=TypeError)


def float_tensor(name: str, x, what: str = "a float tensor") -> Tensor:
    """A floating-point tensor (numpy converted); integer and bool tensors refused."""
    x = tensor_like(name, x, what)
    if not x.is_floating_point():
        fix = "uint8 pixels convert with gantutor.data.to_signed" if x.dtype == torch.uint8 else "convert with .float()"
        fail(name, what, describe(x), fix, error=TypeError)
    return x


def finite_values(name: str, x: Tensor) -> Tensor:
    """Refuse NaN or infinite entries (skipped inside :func:`trusted`)."""
    if checking_values() and x.numel() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        fail(name, "finite values", f"{bad} NaN or infinite entr{'y' if bad == 1 else 'ies'} in {describe(x)}")
    return x


def in_range(name: str, x: Tensor, low: float, high: float, tolerance: float = 0.01,
                what: str = "values") -> Tensor:
    """Refuse values outside [low - tolerance, high + tolerance], naming the likely mistake (pixels in
    [0, 255]) and its fix. Skipped inside :func:`trusted`."""
    if not checking_values() or not x.numel():
        return x
    finite_values(name, x)
    lo, hi = float(x.detach().min()), float(x.detach().max())
    if lo < low - tolerance or hi > high + tolerance:
        fix = None
        if (low, high) == (-1, 1) and hi > 10:
            fix = ("these look like pixels in [0, 255]: pass uint8 images through gantutor.data.to_signed "
                   "(x / 127.5 - 1)")
        fail(name, f"{what} in [{low:g}, {high:g}]", f"values in [{lo:.4g}, {hi:.4g}]", fix)
    return x


def image_batch(name: str, x, channels: Optional[int] = None, size=None,
                value_range: Optional[Tuple[float, float]] = (-1.0, 1.0), tolerance: float = 0.01) -> Tensor:
    """A float tensor [N, C, H, W] with N >= 1 (``channels`` C and ``size`` H = W, or (H, W), when
    given) and values in ``value_range`` (None = any finite value). numpy arrays are converted."""
    vr = value_range
    hw = (size, size) if isinstance(size, int) else (tuple(size) if size is not None else None)
    want = f"[N, {channels if channels else 'C'}, {hw[0] if hw else 'H'}, {hw[1] if hw else 'W'}]"
    what = f"a float image tensor {want}" + (f" in [{vr[0]:g}, {vr[1]:g}]" if vr else "")
    x = tensor_like(name, x, what)
    if x.ndim != 4 or x.shape[0] == 0 or (channels and x.shape[1] != channels) \
            or (hw and tuple(x.shape[2:]) != hw):
        fix = "add the channel axis with x[:, None]" if x.ndim == 3 and channels in (None, 1) else None
        fail(name, what, describe(x), fix)
    float_tensor(name, x, what)
    if vr is not None:
        in_range(name, x, vr[0], vr[1], tolerance)
    else:
        finite_values(name, x)
    return x


def integer_labels(name: str, y, n: Optional[int] = None, n_classes: Optional[int] = None) -> Tensor:
    """Class labels: an integer tensor [n] (any integer dtype; numpy converted) with values in
    [0, n_classes). Returned as int64."""
    what = "an integer tensor " + (f"[{n}]" if n is not None else "[N]") + \
        (f" of class labels in [0, {n_classes})" if n_classes else " of class labels")
    y = tensor_like(name, y, what)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        fail(name, what, describe(y), "convert with .long()", error=TypeError)
    if y.ndim != 1 or (n is not None and y.shape[0] != n):
        fail(name, what, describe(y))
    if n_classes and y.numel() and checking_values():
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            fail(name, what, f"values in [{lo}, {hi}]")
    return y if y.dtype == torch.int64 else y.long()


def module(name: str, m, what: str = "a torch.nn.Module") -> torch.nn.Module:
    """A ``torch.nn.Module``."""
    if not isinstance(m, torch.nn.Module):
        fail(name, what, describe(m), error=TypeError)
    return m


def array_1d(name: str, x, what: str = "a non-empty 1D array of finite numbers") -> np.ndarray:
    """A non-empty 1D float64 numpy array of finite numbers (lists, tensors and arrays accepted)."""
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    if x is None or isinstance(x, (str, bytes, dict)):
        fail(name, what, describe(x), error=TypeError)
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        fail(name, what, describe(x), error=TypeError)
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        fail(name, what, f"shape {a.shape}" if a.ndim != 1 or a.size == 0 else "NaN or infinite entries")
    return a
