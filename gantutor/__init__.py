"""gantutor: the helper package of the GAN Tutor book.

One obvious place per concept (see the README's "Layout"): ``data/`` (MNIST, toys, emoji), ``losses``,
``layers/``, ``models/`` (one file per family), ``train/`` (the one training core and its games),
``theory``, ``metrics/``, ``plots``, ``widgets``, ``checks/`` (one module per assignment), ``pretrain/``
(shipped checkpoints), ``bench``, ``threads``, ``config``. The book imports the package, never the reverse.

Importing gantutor sets torch to one CPU thread (see :mod:`gantutor.threads`; override with the
environment variable ``GANTUTOR_THREADS``).
"""
__version__ = "0.1.0"

from .config import FAST, TrainConfig, budget, is_fast  # noqa: F401
from .threads import set_threads

set_threads()
