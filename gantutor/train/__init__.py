"""Training: ``core`` (the one loop, :class:`GameTrainer`, and the :class:`Game` protocol), ``games``
(the plain and conditional games and their :class:`Trainer` front doors), ``schedules`` (learning-rate
decay, moving average, lazy regularisation, ProGAN's growth), ``image_pool`` (CycleGAN's history
buffer), ``checkpoint`` and ``mixed_precision``."""
from .checkpoint import CheckpointError, atomic_save, load_checkpoint, save_checkpoint  # noqa: F401
from .core import (ABSURD_LOSS, Callback, Game, GameTrainer, History, TrainingDiverged,  # noqa: F401
                   pick_device, seed_everything)
from .games import ConditionalGame, ConditionalTrainer, StandardGame, Trainer  # noqa: F401
from .image_pool import ImagePool  # noqa: F401
from .mixed_precision import MixedPrecisionTrainer  # noqa: F401
from .schedules import ema_update, growth_stage, lazy_due, lr_factor  # noqa: F401
