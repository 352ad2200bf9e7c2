"""Checkpoints of a training run: written atomically, read with ``weights_only=True`` and checked whole
before a single weight is copied, so a bad file never leaves a trainer half-loaded."""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Union

import torch

from .. import validate as V

if TYPE_CHECKING:  # pragma: no cover
    from .core import GameTrainer


class CheckpointError(ValueError):
    """A checkpoint file is missing, unreadable, or does not fit the trainer it is loaded into."""


def atomic_save(obj, path: Union[str, Path]) -> None:
    """``torch.save`` to a temporary file in the same folder, then ``os.replace``: a crash never leaves
    a half-written file at ``path``."""
    path = V.path_like("path", path)
    if path.is_dir():
        V.fail("path", "a file name", f"the folder {path}", "add a file name, e.g. path / 'run.pt'")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's file is private; give it torch.save's usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def float16_state(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A state dict with its floating-point tensors in half precision (half the file; integer buffers
    such as BatchNorm's ``num_batches_tracked`` unchanged)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def float32_state(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A state dict with its floating-point tensors in single precision, ready for ``load_state_dict``
    of a float32 network (the shipped weights may be stored in half precision)."""
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def save_checkpoint(path: Union[str, Path], trainer: "GameTrainer") -> None:
    """Write the trainer's whole state (every network, the moving average, both optimisers, the step
    counters, the history and the config) to ``path`` atomically."""
    state = {"format": "gantutor-trainer-1", "step": trainer.step_count, "d_steps": trainer.d_steps,
             "g_steps": trainer.g_steps,
             "nets": {name: net.state_dict() for name, net in trainer.game.networks().items()},
             "ema": trainer.G_ema.state_dict() if trainer.G_ema is not None else None,
             "opt_g": trainer.opt_g.state_dict(), "opt_d": trainer.opt_d.state_dict(),
             "history": trainer.history.as_dict(), "config": trainer.config.to_dict()}
    atomic_save(state, path)


def load_checkpoint(path: Union[str, Path], map_location="cpu") -> dict:
    """Read a file written by :func:`save_checkpoint` (or :func:`atomic_save`) with ``weights_only=True``:
    no pickled code is ever run. A file that is not such a checkpoint raises :class:`CheckpointError`."""
    path = V.path_like("path", path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no checkpoint file at {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"path: {path} is empty (0 bytes), not a checkpoint; save it again")
    try:
        with warnings.catch_warnings():  # a garbled file makes torch warn about its pickle protocol first
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001  (UnpicklingError, BadZipFile, EOFError, KeyError, ...: all one answer)
        # torch's own message may suggest weights_only=False: never unpickle an unknown file.
        raise CheckpointError(f"path: {path} is not a readable gantutor checkpoint (truncated, corrupt, or "
                              f"written by another program: {type(e).__name__}); save it again") from None


def _check_state_dict(what: str, module: torch.nn.Module, state) -> None:
    if not isinstance(state, dict):
        raise CheckpointError(f"the checkpoint's {what} is a {type(state).__name__}, not a state dict")
    want = module.state_dict()
    missing, extra = sorted(set(want) - set(state)), sorted(set(state) - set(want))
    if missing or extra:
        raise CheckpointError(f"the checkpoint's {what} does not fit this network: missing {missing[:3]}, "
                              f"unexpected {extra[:3]} (was it saved from another architecture?)")
    for key, value in want.items():
        if not isinstance(state[key], torch.Tensor) or tuple(state[key].shape) != tuple(value.shape):
            got = tuple(state[key].shape) if isinstance(state[key], torch.Tensor) else type(state[key]).__name__
            raise CheckpointError(f"the checkpoint's {what}.{key} has shape {got}, this network needs "
                                  f"{tuple(value.shape)} (another width or size?)")


def _check_optimizer(what: str, opt: torch.optim.Optimizer, state) -> None:
    if not isinstance(state, dict) or "param_groups" not in state or "state" not in state:
        raise CheckpointError(f"the checkpoint's {what} is not an optimiser state")
    sizes = [len(g["params"]) for g in opt.state_dict()["param_groups"]]
    if [len(g.get("params", ())) for g in state["param_groups"]] != sizes:
        raise CheckpointError(f"the checkpoint's {what} was saved for other networks ({sizes} parameters "
                              f"expected per group)")
    kinds = {type(opt).__name__}
    ignore = {"params", "lr", "initial_lr"}
    want = {k for g in opt.state_dict()["param_groups"] for k in g} - ignore
    have = {k for g in state["param_groups"] if isinstance(g, dict) for k in g} - ignore
    if have != want:
        raise CheckpointError(f"the checkpoint's {what} was saved by another optimiser (its settings are "
                              f"{sorted(have)}); this trainer uses {type(opt).__name__}: set TrainConfig.optimizer "
                              f"as when it was saved")
    keys = {k for s in state["state"].values() if isinstance(s, dict) for k in s}
    expected = {"Adam": {"exp_avg"}, "RMSprop": {"square_avg"}}.get(type(opt).__name__, set())
    if keys and expected and not expected <= keys:
        raise CheckpointError(f"the checkpoint's {what} was saved by another optimiser (it holds {sorted(keys)}); "
                              f"this trainer uses {kinds.pop()}: set TrainConfig.optimizer as when it was saved")


def load_into(trainer: "GameTrainer", path: Union[str, Path]) -> None:
    """Restore ``trainer`` from ``path``: everything is checked first, then copied."""
    from .core import History

    ckpt = load_checkpoint(path, map_location=trainer.device)
    required = ("step", "nets", "opt_g", "opt_d", "history")
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in required):
        kind = sorted(ckpt)[:5] if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"path: {path} is not a trainer checkpoint (it holds {kind}); trainer "
                              f"checkpoints are written by trainer.save(path)")
    nets = trainer.game.networks()
    if not isinstance(ckpt["nets"], dict) or set(ckpt["nets"]) != set(nets):
        raise CheckpointError(f"the checkpoint holds the networks {sorted(ckpt['nets'])}, this trainer "
                              f"{sorted(nets)}")
    for name, net in nets.items():
        _check_state_dict(name, net, ckpt["nets"][name])
    if trainer.G_ema is not None and ckpt.get("ema") is not None:
        _check_state_dict("moving average of G", trainer.G_ema, ckpt["ema"])
    _check_optimizer("generator optimiser", trainer.opt_g, ckpt["opt_g"])
    _check_optimizer("discriminator optimiser", trainer.opt_d, ckpt["opt_d"])
    trainer._restore(ckpt)
    trainer.history = History(**ckpt["history"])
    trainer._good = trainer._snapshot()
