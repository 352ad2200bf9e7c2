"""What every chapter notebook needs besides the method: quoting numbers and showing code.

``glue(name, value)`` hands a computed number to MyST-NB, so the prose quotes it with
``{glue:text}`name:.1f``` and text and output cannot drift apart. Two things it adds to
:func:`myst_nb.glue`, which is why the chapters call this one:

* numpy and torch scalars become plain Python numbers first (under numpy 2 a glued ``np.float64``
  is stored as the text ``np.float64(3.2)``, which ``{glue:text}`` formats cannot parse, and the
  warnings-as-errors book build fails);
* without MyST-NB (Colab, plain Jupyter) it does nothing, and the cells' printed lines still carry
  the numbers.

``show_source(obj)`` displays a gantutor function or class as highlighted code, so a page shows the
code it runs instead of a copy that could drift from it.
"""
from __future__ import annotations

import inspect
from typing import Any

try:
    from myst_nb import glue as _myst_glue
except ImportError:                  # Colab or plain Jupyter: nothing to glue into
    _myst_glue = None

__all__ = ["glue", "plain", "show_source"]


def plain(value: Any) -> Any:
    """``value`` as a plain Python number if it is a numpy or torch scalar (anything with ``.item()``
    and a single element); other values unchanged."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()
        except (ValueError, RuntimeError):   # more than one element: leave it to MyST-NB
            return value
    return value


def glue(name: str, value: Any, display: bool = False) -> None:
    """Quote ``value`` in the prose as ``{glue:text}`name``` (MyST-NB), as a plain Python number.

    ``display=False`` (the default) stores the value without printing it in the cell's output.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a non-empty string, got {name!r}")
    if _myst_glue is not None:
        _myst_glue(name, plain(value), display=display)


def show_source(obj: Any) -> None:
    """Display the source code of ``obj`` (a function, class or module) highlighted as Python."""
    from IPython.display import Code, display
    display(Code(inspect.getsource(obj), language="python"))
