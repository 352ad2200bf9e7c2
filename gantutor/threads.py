"""How many CPU threads torch uses, and the measurement behind the choice.

gantutor sets torch to ONE intra-op thread when it is imported (on the CPU; a GPU is unaffected). The
book's networks are small: one thread keeps a core busy, a second mostly waits for the first, and when
another process shares the cores (a second notebook, a browser, Colab's neighbours, the other helpers
of a build) a thread that is descheduled stalls every operation of the step. Measured on this
project's 2-core machine (:func:`step_times`, reported by ``python -m gantutor.bench``): idle, 2 threads
were never faster than 1 for the MLP, DCGAN and a 32x32 conv GAN step; with one core busy, 2 threads were
1.1 to 2.3 times slower.

Override it before or after importing gantutor:

    GANTUTOR_THREADS=4 jupyter lab          # a number, or "torch" to keep torch's own default
    gantutor.threads.set_threads(4)         # in a running notebook
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Dict, Optional

import torch

ENV = "GANTUTOR_THREADS"
DEFAULT = 1


def requested_threads(value: Optional[str] = None) -> Optional[int]:
    """The thread count asked for by ``GANTUTOR_THREADS`` (or ``value``): an integer >= 1, None for
    "torch" (leave torch's default), :data:`DEFAULT` when unset or empty."""
    value = os.environ.get(ENV, "") if value is None else value
    value = value.strip().lower()
    if value == "":
        return DEFAULT
    if value == "torch":
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{ENV}: expected a positive integer or 'torch', got {value!r}")
    return int(value)


def set_threads(n: Optional[int] = None) -> int:
    """Set torch's intra-op threads to ``n`` (default: :func:`requested_threads`); returns the count in use."""
    if n is None:
        n = requested_threads()
    elif isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive integer number of threads, got {n!r}")
    if n is not None:
        torch.set_num_threads(n)
    return torch.get_num_threads()


# -- the measurement ----------------------------------------------------------------------------------
def _trainer(kind: str):
    from torch import nn

    from .config import TrainConfig
    from .data import TensorSampler
    from .models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
    from .train import Trainer

    gen = torch.Generator().manual_seed(0)
    if kind == "mlp":  # chapter 1's MLP GAN on 28x28
        G, D, shape = MLPGenerator(64, (1, 28, 28)), MLPDiscriminator((1, 28, 28)), (2000, 28, 28)
    elif kind == "dcgan":  # chapter 6's DCGAN, ngf = ndf = 32
        G, D, shape = DCGANGenerator(64, 28, 1, 32), DCGANDiscriminator(28, 1, 32), (2000, 28, 28)
    elif kind == "conv32":  # a small 32x32 colour GAN: upsample + conv, avg-pool discriminator
        up = lambda a, b: [nn.Upsample(scale_factor=2), nn.Conv2d(a, b, 3, padding=1), nn.LeakyReLU(0.2)]
        down = lambda a, b: [nn.Conv2d(a, b, 3, padding=1), nn.LeakyReLU(0.2), nn.AvgPool2d(2)]
        G = nn.Sequential(nn.Unflatten(1, (64, 1, 1)), nn.ConvTranspose2d(64, 128, 4), nn.LeakyReLU(0.2),
                          *up(128, 64), *up(64, 32), *up(32, 16), nn.Conv2d(16, 3, 3, padding=1), nn.Tanh())
        D = nn.Sequential(*down(3, 16), *down(16, 32), *down(32, 64), nn.Flatten(), nn.Linear(64 * 16, 1))
        G.latent_dim, shape = 64, (2000, 3, 32, 32)
    else:
        raise ValueError(f"kind: expected 'mlp', 'dcgan' or 'conv32', got {kind!r}")
    sampler = TensorSampler(torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen))
    return Trainer(G, D, sampler, TrainConfig(batch_size=64, latent_dim=64, progress=False, device="cpu"))


def step_times(threads: int, steps: int = 10, kinds=("mlp", "dcgan", "conv32"), warmup: int = 3) -> Dict[str, float]:
    """Milliseconds of wall time per training step (batch 64) of each kind of GAN at ``threads`` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out = {}
        for kind in kinds:
            trainer = _trainer(kind)
            trainer.run(warmup)  # warm-up: allocations, first-call overhead
            start = time.perf_counter()
            trainer.run(steps)
            out[kind] = 1000 * (time.perf_counter() - start) / steps
        return out
    finally:
        torch.set_num_threads(before)


def thread_report(steps: int = 10, kinds=("mlp", "dcgan", "conv32"), warmup: int = 3) -> Dict[str, Dict[str, float]]:
    """:func:`step_times` at 1 and 2 threads, first as the machine is, then with one core kept busy by
    a second process (a spinning Python loop): the measurement behind :data:`DEFAULT`."""
    report = {f"{n} thread{'s' * (n > 1)}": step_times(n, steps, kinds, warmup) for n in (1, 2)}
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        report.update({f"{n} thread{'s' * (n > 1)}, one core busy": step_times(n, steps, kinds, warmup)
                       for n in (1, 2)})
    finally:
        busy.kill()
        busy.wait()
    return report
