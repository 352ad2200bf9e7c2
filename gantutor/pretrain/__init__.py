"""Shipped checkpoints: models trained longer than a page build allows, by named recipes.

    python -m gantutor.pretrain NAME            # train one recipe end to end, write gantutor/_weights/NAME.pt
    python -m gantutor.pretrain NAME --tiny     # the same code at a tiny budget (what the tests run)
    python -m gantutor.pretrain --list

Recipes live in modules ``gantutor/pretrain/<family>.py``, each defining ``RECIPES``, a dict from name to
:class:`Recipe`: how to build the network that is shipped (sharing every line of model code with the
chapter's live run) and how to train it. The file holds only tensors and plain types, so
:func:`load` reads it with ``weights_only=True``; it stays under 5 MB (half precision if needed).
"""
from __future__ import annotations

import importlib
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import torch
from torch import nn

from ..train.checkpoint import atomic_save, float32_state, load_checkpoint

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "_weights"
MAX_BYTES = 5 * 2**20
FORMAT = "gantutor-pretrained-1"
# Recipe name -> module under gantutor.pretrain that defines RECIPE (imported only when asked for).
RECIPES: Dict[str, str] = {
    "mlp-mnist": "mnist", "cgan-mnist": "mnist", "dcgan-mnist": "mnist",
    "progan-emoji": "progan",
    "stylegan2-emoji": "stylegan", "stylegan2-emoji-short": "stylegan", "stylegan1-emoji": "stylegan",
    "stylegan2-emoji-nopl": "stylegan",
    "cyclegan-emoji": "cyclegan",
}


@dataclass
class Recipe:
    """A named training run whose result ships with the package.

    ``build()`` returns the network that is shipped (untrained), ``train(tiny)`` trains one end to end
    and returns ``(network, history, info)``: ``history`` a dict of lists (losses, the metric over
    time), ``info`` plain facts (steps, metric values, the recipe's settings). ``chapter`` and
    ``description`` say where and what; the trainer records CPU time and threads itself.
    """

    name: str
    chapter: str
    description: str
    build: Callable[[], nn.Module]
    train: Callable[[bool], Tuple[nn.Module, dict, dict]]
    half: bool = False  # store weights as float16 (halves the file; loaded back as float32)
    extra: dict = field(default_factory=dict)


def recipe(name: str) -> Recipe:
    """The :class:`Recipe` called ``name``; a clear error lists the names there are."""
    if name not in RECIPES:
        raise KeyError(f"name: no pretraining recipe {name!r}; there are {sorted(RECIPES)}")
    module = importlib.import_module(f"{__name__}.{RECIPES[name]}")
    found = getattr(module, "RECIPES", {}).get(name)
    if found is None or found.name != name:
        raise KeyError(f"name: module gantutor.pretrain.{RECIPES[name]} does not define the recipe {name!r}")
    return found


def weights_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}.pt"


def run(name: str, tiny: bool = False, out: Optional[Path] = None) -> Path:
    """Train recipe ``name`` and write its checkpoint (atomically) to ``out`` (default: the package's
    ``_weights/NAME.pt``; a tiny run defaults to nowhere but must be given ``out``)."""
    r = recipe(name)
    if tiny and out is None:
        raise ValueError("out: a tiny run must be written somewhere else than the shipped weights")
    out = Path(out) if out is not None else weights_path(name)
    start_wall, start_cpu = time.time(), time.process_time()
    net, history, info = r.train(tiny)
    state = {k: (v.half() if r.half and v.is_floating_point() else v).detach().cpu().contiguous()
             for k, v in net.state_dict().items()}
    info = dict(info, wall_seconds=round(time.time() - start_wall, 1),
                cpu_seconds=round(time.process_time() - start_cpu, 1), threads=torch.get_num_threads(),
                torch=str(torch.__version__), machine=platform.machine(), tiny=bool(tiny),
                date=time.strftime("%Y-%m-%d"))
    atomic_save({"format": FORMAT, "name": name, "chapter": r.chapter, "description": r.description,
                 "state_dict": state, "history": history, "info": info}, out)
    size = out.stat().st_size
    if size > MAX_BYTES and not tiny:
        raise ValueError(f"{out} is {size / 2**20:.1f} MB, over the {MAX_BYTES / 2**20:.0f} MB limit for a "
                         f"shipped checkpoint: make the network smaller or set half=True in the recipe")
    return out


def load(name: str, path: Optional[Path] = None) -> Tuple[nn.Module, dict]:
    """The shipped network of recipe ``name`` (eval mode, float32, CPU) and its record: a dict with
    ``history``, ``info`` (training time, steps, metrics) and ``description``."""
    r = recipe(name)
    path = Path(path) if path is not None else weights_path(name)
    if not path.is_file():
        raise FileNotFoundError(f"name: the checkpoint of {name!r} is not at {path}; create it with "
                                f"`python -m gantutor.pretrain {name}`")
    ckpt = load_checkpoint(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or ckpt.get("name") != name:
        raise ValueError(f"path: {path} is not the shipped checkpoint of {name!r}")
    net = r.build()
    net.load_state_dict(float32_state(ckpt["state_dict"]))
    return net.eval(), {k: ckpt[k] for k in ("history", "info", "description", "chapter")}
