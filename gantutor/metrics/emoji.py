"""Emoji scores from a small CNN trained on the two emoji styles (its weights ship in
``gantutor/_weights/emoji_features.pt``; ``python -m gantutor.metrics train-emoji`` re-creates them
in about 260 s of CPU time on one thread).

The network reads colour images x [N, 3, 32, 32] in [-1, 1] and has two heads on one 64-d feature
vector: the style (P(Twitter) against Google) and the emoji.json category (10 classes). Its features
give an *emoji Frechet distance*, :func:`emoji_fid`: the Frechet distance of Gaussians fitted to them
(the formula of Heusel et al., 2017, eq. 6, in another feature space). It is NOT Inception FID: the
features, their dimension (64, not 2048) and their scale differ, so its values cannot be compared with
published FIDs, only with other values of this function at the same n. The style head gives
:func:`style_probability` and :func:`style_accuracy`, chapter 9's check that a translation changed the
style. The held-out test set is every image (both styles, with skin-tone variants) of 20% of the base
emoji, chosen by a seeded permutation (:func:`held_out_codepoints`); training never sees them.
"""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from torch import nn
from torch.nn import functional as F

from ..train.checkpoint import atomic_save, float16_state, float32_state
from .distances import feature_statistics, frechet_distance

WEIGHTS = Path(__file__).resolve().parents[1] / "_weights" / "emoji_features.pt"
FEATURE_DIM = 64
CATEGORIES = ("Smileys & Emotion", "People & Body", "Component", "Animals & Nature", "Food & Drink",
              "Travel & Places", "Activities", "Objects", "Symbols", "Flags")
_TONES = ("-1F3FB", "-1F3FC", "-1F3FD", "-1F3FE", "-1F3FF")


class EmojiFeatureNet(nn.Module):
    """Three 3x3 conv blocks (32, 64, 128 channels; batch norm, ReLU, 2x2 max-pool: 32 -> 4 px) and a
    64-unit layer: x [N, 3, 32, 32] in [-1, 1] to (style logit [N], category logits [N, 10]).
    :meth:`features` returns the 64 shared penultimate activations."""

    def __init__(self):
        super().__init__()
        blocks, c_in = [], 3
        for c_out in (32, 64, 128):
            blocks += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        self.body = nn.Sequential(*blocks, nn.Flatten(), nn.Dropout(0.2), nn.Linear(128 * 4 * 4, FEATURE_DIM),
                                  nn.ReLU())
        self.style = nn.Linear(FEATURE_DIM, 1)
        self.category = nn.Linear(FEATURE_DIM, len(CATEGORIES))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.style(h).squeeze(1), self.category(h)


def check_images(images, name: str = "images") -> torch.Tensor:
    """``images`` as float32 CPU [N, 3, 32, 32]: checks [N, 3, 32|64, 32|64], floats in [-1, 1], no
    NaN; 64-px images are reduced to 32 px by 2x2 averaging. Raises ``ValueError`` naming ``name``."""
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name}: expected a float tensor [N, 3, 32, 32] in [-1, 1], got {type(images).__name__}")
    if images.ndim != 4 or images.shape[0] == 0 or images.shape[1] != 3 or tuple(images.shape[2:]) not in ((32, 32), (64, 64)):
        raise ValueError(f"{name}: expected a float tensor [N, 3, 32, 32] (or 64 x 64) with N >= 1, "
                         f"got {images.dtype} {list(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"{name}: expected floats in [-1, 1], got {images.dtype} {list(images.shape)} "
                         "(convert uint8 pixels with gantutor.data.to_signed)")
    images = images.detach().float().cpu()
    if not torch.isfinite(images).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1.001 or hi > 1.001:
        raise ValueError(f"{name}: expected values in [-1, 1] (a tanh generator's range), got [{lo:.3g}, {hi:.3g}]")
    return F.avg_pool2d(images, 2) if images.shape[-1] == 64 else images


@lru_cache(maxsize=1)
def feature_net() -> EmojiFeatureNet:
    """The shipped network in eval mode, float32 on the CPU (loaded once, then cached)."""
    if not WEIGHTS.is_file():
        raise FileNotFoundError(f"no emoji feature weights at {WEIGHTS}; run `python -m gantutor.metrics train-emoji`")
    saved = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    net = EmojiFeatureNet()
    net.load_state_dict(float32_state(saved["state"]))
    return net.eval().requires_grad_(False)


def training_record() -> Dict[str, object]:
    """What the shipped weights measured when trained: held-out accuracies, epochs, CPU time."""
    return dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True)["info"])


@torch.no_grad()
def _apply(fn, x: torch.Tensor, batch: int = 500) -> torch.Tensor:
    return torch.cat([fn(x[i:i + batch]) for i in range(0, x.shape[0], batch)])


def emoji_features(images: torch.Tensor) -> torch.Tensor:
    """Penultimate features [N, 64] of images [N, 3, 32, 32] (or 64 x 64) in [-1, 1]."""
    return _apply(feature_net().features, check_images(images))


def style_probability(images: torch.Tensor) -> torch.Tensor:
    """P(Twitter style) [N] of images [N, 3, 32, 32] (or 64 x 64) in [-1, 1]; 1 - it is P(Google)."""
    return torch.sigmoid(_apply(lambda x: feature_net()(x)[0], check_images(images)))


def category_probabilities(images: torch.Tensor) -> torch.Tensor:
    """P(category) [N, 10] in the order of :data:`CATEGORIES`."""
    return torch.softmax(_apply(lambda x: feature_net()(x)[1], check_images(images)), 1)


def style_accuracy(images: torch.Tensor, style: str) -> float:
    """Share of ``images`` the style head reads as ``style`` ("google" or "twitter")."""
    if style not in ("google", "twitter"):
        raise ValueError(f"style: expected 'google' or 'twitter', got {style!r}")
    p = style_probability(images)
    return float(((p > 0.5) == (style == "twitter")).double().mean())


# -- the emoji Frechet distance ---------------------------------------------------------------------
@dataclass
class EmojiFIDResult:
    """Emoji Frechet distance of ``n`` images against ``reference``, beside the real-vs-real baseline."""

    fid: float
    baseline: float
    n: int
    reference: str

    def __str__(self) -> str:
        return (f"emoji-FD {self.fid:.2f} ({self.n} images vs {self.reference}; {self.n} real images of the "
                f"reference score {self.baseline:.2f}; lower is better; this is not Inception FID and is "
                f"not comparable with published FIDs)")


@lru_cache(maxsize=4)
def _style_features(style: str, size: int) -> torch.Tensor:
    """Features [N, 64] of every emoji of ``style`` at ``size`` px (computed once per process)."""
    from ..data import load_emoji, to_signed

    return emoji_features(to_signed(load_emoji(style, size).images))


def _reference_features(reference: Union[str, torch.Tensor], size: int) -> Tuple[torch.Tensor, str]:
    if isinstance(reference, str):
        if reference not in ("google", "twitter"):
            raise ValueError(f"reference: expected 'google', 'twitter' or a tensor of real images, got {reference!r}")
        feats = _style_features(reference, size)
        return feats, f"all {feats.shape[0]} {reference} emoji"
    feats = emoji_features(check_images(reference, "reference"))
    return feats, f"{feats.shape[0]} reference images"


def emoji_fid(images: torch.Tensor, reference: Union[str, torch.Tensor] = "google", seed: int = 0) -> EmojiFIDResult:
    """d^2 = |mu_x - mu_r|^2 + Tr(S_x + S_r - 2 (S_x S_r)^(1/2)) on the 64 features of
    :func:`emoji_features`, for ``images`` [N, 3, 32|64, 32|64] in [-1, 1] against ``reference`` (a
    style name, meaning every emoji of that style at the images' size, or a tensor of real images).

    ``baseline`` is the same distance for n real images drawn from the reference (seeded; with
    replacement when n exceeds it): what a generator that reproduces the training set would score at
    this n. FD is biased upward at small n, so compare only at equal n (n > 64 required, 1,000 or more
    recommended). Not Inception FID: not comparable with any published FID.
    """
    size = int(images.shape[-1]) if isinstance(images, torch.Tensor) and images.ndim == 4 else 32
    images = check_images(images)  # validated (a 64-px set comes back at 32 px)
    ref, label = _reference_features(reference, size)  # a style name: its emoji at the images' own size
    n = images.shape[0]
    real = feature_statistics(ref, "reference")
    g = torch.Generator().manual_seed(seed)
    pick = (torch.randperm(ref.shape[0], generator=g)[:n] if n <= ref.shape[0]
            else torch.randint(ref.shape[0], (n,), generator=g))
    fid = frechet_distance(*feature_statistics(emoji_features(images), "images"), *real)
    baseline = frechet_distance(*feature_statistics(ref[pick]), *real)
    return EmojiFIDResult(fid, baseline, n, label)


# -- training (python -m gantutor.metrics train-emoji) ------------------------------------------------
def base_codepoint(codepoint: str) -> str:
    """The codepoint without skin-tone modifiers ("1F44D-1F3FB" -> "1F44D")."""
    for tone in _TONES:
        codepoint = codepoint.replace(tone, "")
    return codepoint


def held_out_codepoints(codepoints: Sequence[str], fraction: float = 0.2, seed: int = 0) -> set:
    """The test codepoints: all variants of a seeded random ``fraction`` of the base emoji."""
    bases = sorted({base_codepoint(c) for c in codepoints})
    order = torch.randperm(len(bases), generator=torch.Generator().manual_seed(seed)).tolist()
    test_bases = {bases[i] for i in order[:round(fraction * len(bases))]}
    return {c for c in codepoints if base_codepoint(c) in test_bases}


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random flip, scale in [0.9, 1.1] and shift of up to 2 px, with white filling the border."""
    n = x.shape[0]
    scale = 0.9 + 0.2 * torch.rand(n, generator=g)
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * (2 / 16)  # 2 px in grid units of a 32-px image
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, :, 2] = flip / scale, 1 / scale, shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - 1, grid, align_corners=False, padding_mode="zeros") + 1


def _dataset(styles=("google", "twitter")) -> Dict[str, torch.Tensor]:
    from ..data import load_emoji

    xs, style, cat, cps = [], [], [], []
    for s_index, style_name in enumerate(styles):
        small, big = load_emoji(style_name, 32), load_emoji(style_name, 64)
        for images in (small.images, F.avg_pool2d(big.images.float(), 2).round().to(torch.uint8)):
            xs.append(images)
            style += [s_index] * len(small)
            cat += [CATEGORIES.index(c) for c in small.categories]
            cps += small.codepoints
    test = held_out_codepoints(cps)
    return {"x": torch.cat(xs), "style": torch.tensor(style, dtype=torch.float32),
            "category": torch.tensor(cat), "is_test": torch.tensor([c in test for c in cps]),
            "is_sheet": torch.tensor(([True] * (len(xs[0])) + [False] * len(xs[1])) * len(styles))}


def train_feature_net(out: Path = WEIGHTS, epochs: int = 15, seed: int = 0, threads: int = 1) -> Dict[str, float]:
    """Train :class:`EmojiFeatureNet` on the non-held-out emoji of both styles (32-px sheet cells and
    64-px cells averaged to 32 px, augmented), loss = BCE(style) + CE(category), Adam with a one-cycle
    schedule, batch 128, seeded; save half-precision weights atomically and return held-out accuracies."""
    from ..data import to_signed

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    data = _dataset()
    train = (~data["is_test"]).nonzero().flatten()
    net, batch = EmojiFeatureNet(), 128
    steps = epochs * math.ceil(len(train) / batch)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    cpu0, wall0 = time.process_time(), time.time()
    for epoch in range(epochs):
        net.train()
        order = train[torch.randperm(len(train), generator=g)]
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            style_logit, cat_logit = net(_augment(to_signed(data["x"][idx]), g))
            loss = (F.binary_cross_entropy_with_logits(style_logit, data["style"][idx])
                    + F.cross_entropy(cat_logit, data["category"][idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step(), sched.step()
        print(f"epoch {epoch + 1}/{epochs}: loss {float(loss.detach()):.3f}, {time.process_time() - cpu0:.0f} s CPU", flush=True)
    state = float16_state(net.state_dict())
    net.load_state_dict(float32_state(state))
    net.eval()
    test = (data["is_test"] & data["is_sheet"]).nonzero().flatten()
    with torch.no_grad():
        s_logit, c_logit = (torch.cat(t) for t in zip(*(net(to_signed(data["x"][test[i:i + 500]]))
                                                        for i in range(0, len(test), 500))))
    info = {"style_accuracy": float(((s_logit > 0) == (data["style"][test] > 0.5)).double().mean()),
            "category_accuracy": float((c_logit.argmax(1) == data["category"][test]).double().mean()),
            "n_test": int(len(test)), "n_train": int(len(train)), "epochs": epochs, "seed": seed,
            "threads": threads, "cpu_seconds": round(time.process_time() - cpu0, 1),
            "wall_seconds": round(time.time() - wall0, 1), "torch": str(torch.__version__)}
    atomic_save({"state": state, "info": info}, out)
    return info


def main(argv: Optional[list] = None) -> int:
    """``python -m gantutor.metrics train-emoji [--epochs 15] [--threads 1] [--out PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m gantutor.metrics train-emoji",
                                     description="train the emoji feature network and write its weights")
    parser.add_argument("--out", default=str(WEIGHTS))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    info = train_feature_net(Path(args.out), epochs=args.epochs, threads=args.threads)
    print(f"held-out style accuracy {100 * info['style_accuracy']:.2f}%, category accuracy "
          f"{100 * info['category_accuracy']:.2f}% ({info['n_test']} images); "
          f"{Path(args.out).stat().st_size / 1024:.0f} KiB written to {args.out} in {info['cpu_seconds']:.0f} s CPU")
    return 0 if info["style_accuracy"] >= 0.9 else 1
