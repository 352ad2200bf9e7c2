"""gantutor: the helper package of the GAN Tutor book.

One module per concept (see DESIGN.md): ``data``, ``losses``, ``models``, ``train``, ``theory``,
``metrics``, ``plots``, ``widgets``, ``config``, ``checks``. The book imports the package, never the
reverse.
"""
__version__ = "0.1.0"

from .config import FAST, TrainConfig, budget, is_fast  # noqa: F401
