"""Mode scores of toy samples (VEEGAN, Srivastava et al., 2017; PacGAN, Lin et al., 2018): a sample is
*high quality* when it lies within three standard deviations of its nearest mode; a mode is *captured*
when at least one high-quality sample is nearest to it; the *reverse KL* is KL(q || uniform), with q
the histogram of the high-quality samples over the modes (PacGAN: 2,500 samples); 0 when they are spread
evenly, log K when they all sit on one of the K modes, and undefined, returned as ``math.inf``, when no sample
is high-quality (q does not exist). The three-standard-deviation criterion is VEEGAN's. The threshold of
one sample per captured mode is that of PacGAN's released scoring code (fjxmlzn/PacGAN,
synthetic_data_experiments/PacGAN/pacgan/extensions.py, ``MetricLogger``: each sample goes to its nearest
mode when within ``dis_thre=3`` standard deviations of it, and "mode coverage" counts the modes with a
nonzero count); with 2,500 samples it is a lenient test, so read it with the share of high-quality samples."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import validate as V
from ..data import GaussianMixture


@dataclass
class ToyScores:
    """Scores of samples from a generator against a Gaussian mixture's modes."""

    modes: int
    n_modes: int
    high_quality: float
    reverse_kl: float

    def __str__(self) -> str:
        return (f"modes captured {self.modes}/{self.n_modes}, high-quality samples "
                f"{100 * self.high_quality:.1f}%, reverse KL {self.reverse_kl:.3f}")


def toy_scores(samples: torch.Tensor, mixture: GaussianMixture, n_std: float = 3.0) -> ToyScores:
    """Modes captured, share of high-quality samples and reverse KL of samples [N, d] (see module doc)."""
    if not isinstance(mixture, GaussianMixture):
        V.fail("mixture", "a gantutor.data.GaussianMixture (e.g. ring8())", mixture, error=TypeError)
    n_std = V.positive_number("n_std", n_std)
    d = mixture.means.shape[1]
    what = f"a float tensor [N, {d}] with N >= 1"
    samples = V.float_tensor("samples", samples, what)
    if samples.ndim != 2 or samples.shape[1] != d or samples.shape[0] == 0:
        V.fail("samples", what, samples)
    samples = V.finite_values("samples", samples.detach().float().cpu())
    dist = torch.cdist(samples, mixture.means)
    nearest_d, nearest = dist.min(1)
    hq = nearest_d <= n_std * mixture.std
    k = mixture.means.shape[0]
    counts = torch.bincount(nearest[hq], minlength=k).double()
    captured = int((counts > 0).sum())
    if counts.sum() == 0:
        rkl = math.inf
    else:
        q = counts / counts.sum()
        nz = q > 0
        rkl = float((q[nz] * torch.log(q[nz] * k)).sum())
    return ToyScores(captured, k, float(hq.double().mean()), rkl)
