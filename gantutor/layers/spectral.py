"""Reusable layers. For now: spectral normalisation (Miyato et al., 2018).

Spectral normalisation divides a weight by its largest singular value, its spectral norm sigma(W), so
that the layer's linear map is 1-Lipschitz (eq. 8 of the paper):

    W_SN = W / sigma(W),   sigma(W) = max_{h != 0} ||W h||_2 / ||h||_2.

sigma(W) is estimated by power iteration (Algorithm 1) with a vector ``u`` kept between training steps,
so that one iteration per step suffices. A convolution's weight [C_out, C_in, k, k] is reshaped to the
matrix [C_out, C_in k k], as in the paper; :func:`conv_operator_norm` computes the norm of the
convolution itself, which is a different number.

    D = spectral_norm_all(MLPDiscriminator((2,)))   # every Linear / Conv2d normalised
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from .. import validate as V

Tensor = torch.Tensor

__all__ = ["l2_normalize", "power_iteration", "SpectralNorm", "spectral_norm", "spectral_norm_all",
           "spectral_norms", "conv_operator", "conv_operator_norm"]


def l2_normalize(x: Tensor, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_2, eps): the unit vector along x (a zero vector stays zero instead of NaN)."""
    x = V.finite_values("x", V.float_tensor("x", x))
    return x / x.norm().clamp_min(eps)


def power_iteration(W: Tensor, u: Optional[Tensor] = None, n_iter: int = 1, eps: float = 1e-12,
                    generator: Optional[torch.Generator] = None) -> Tuple[Tensor, Tensor, Tensor]:
    """Largest singular value of the matrix ``W`` [m, n] by power iteration (Miyato et al., 2018,
    Algorithm 1, the source's ``max_singular_value``):

        v <- W^T u / ||W^T u||_2,   u <- W v / ||W v||_2     (``n_iter`` times),
        sigma(W) ~ u^T W v.

    ``u`` [m] is the starting vector (random from ``generator`` when None). Returns (sigma, u, v); feed
    ``u`` back in at the next call to continue the iteration. Each iteration multiplies v by W^T W, so
    the angle between v and the top right singular vector shrinks like (sigma_2 / sigma_1)^(2 n_iter)
    and the relative error of sigma like (sigma_2 / sigma_1)^(4 n_iter). Gradients flow through ``W``
    unless it is detached.
    """
    W = V.float_tensor("W", W, "a float matrix [m, n]")
    if W.ndim != 2 or W.numel() == 0:
        V.fail("W", "a float matrix [m, n] with m, n >= 1", W)
    V.finite_values("W", W)
    V.positive_int("n_iter", n_iter)
    V.positive_number("eps", eps)
    if u is None:
        u = torch.randn(W.shape[0], generator=generator, dtype=W.dtype).to(W.device)
    else:
        u = V.float_tensor("u", u, f"a float vector [{W.shape[0]}] (the rows of W)")
        if u.shape != (W.shape[0],):
            V.fail("u", f"a float vector [{W.shape[0]}] (the rows of W)", u)
        V.finite_values("u", u)
        if V.checking_values() and not bool((u != 0).any()):
            V.fail("u", "a non-zero starting vector", "the zero vector (power iteration would stay at 0)",
                   "leave u=None for a random start")
    u = l2_normalize(u, eps)
    for _ in range(n_iter):
        v = l2_normalize(W.t() @ u, eps)
        u = l2_normalize(W @ v, eps)
    return u @ W @ v, u, v


class SpectralNorm(nn.Module):
    """A parametrisation W -> W / sigma(W) (Miyato et al., 2018, eq. 8), registered on a module's
    weight by :func:`spectral_norm`.

    The buffer ``u`` (the paper's u~, the left singular vector estimate) persists between calls and is
    saved in the ``state_dict``. In training mode each call runs ``n_power_iterations`` steps of
    :func:`power_iteration` on the detached weight and stores the new ``u``; in eval mode ``u`` is left
    unchanged, so evaluation never alters the model. sigma = u^T W v is then computed WITH the weight
    in the graph (u and v constant), which gives the gradient of the paper's eq. (12).

    ``dim`` is the output dimension of the weight (0 for Linear and Conv2d, 1 for ConvTranspose2d); the
    weight is reshaped to [W.shape[dim], rest]. ``u`` starts random from ``seed`` (so constructing the
    layer leaves the global random state alone) and is refined by ``n_init_iterations`` iterations.
    """

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12,
                 seed: int = 0, n_init_iterations: int = 15):
        super().__init__()
        weight = V.float_tensor("weight", weight, "a float weight with at least 2 dimensions")
        if weight.ndim < 2:
            V.fail("weight", "a float weight with at least 2 dimensions", weight)
        V.finite_values("weight", weight)
        V.integer("dim", dim, minimum=-weight.ndim, maximum=weight.ndim - 1)
        V.positive_int("n_power_iterations", n_power_iterations)
        V.integer("seed", seed)
        self.dim, self.eps, self.n_power_iterations = dim % weight.ndim, eps, n_power_iterations
        W = self.matrix(weight.detach())
        u = torch.randn(W.shape[0], generator=torch.Generator().manual_seed(seed), dtype=W.dtype)
        self.register_buffer("u", l2_normalize(u.to(W.device), eps))
        if n_init_iterations:
            self.u.copy_(power_iteration(W, self.u, n_init_iterations, eps)[1])

    def matrix(self, weight: Tensor) -> Tensor:
        """The weight as a matrix [W.shape[dim], everything else] (the paper's reshaping of a conv)."""
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.flatten(1)

    def sigma(self, weight: Tensor) -> Tensor:
        """sigma(W) = u^T W v, updating ``u`` in training mode (see the class docstring). ``v`` is
        recomputed from the stored (new) ``u``, v = W^T u / ||W^T u||, so sigma = ||W^T u||: half an
        iteration beyond Algorithm 1's eq. (22), whose v is the one of eq. (20) (sigma = ||W v||), as
        PyTorch's spectral_norm does. Like every power-iteration estimate it is <= sigma(W)."""
        W = self.matrix(weight)
        with torch.no_grad():
            if self.training:
                _, u, v = power_iteration(W.detach(), self.u, self.n_power_iterations, self.eps)
                self.u.copy_(u)
            v = l2_normalize(W.detach().t() @ self.u, self.eps)
        u = self.u.clone()  # a copy: a later call changes the buffer in place, autograd must not see it
        return u @ W @ v

    def forward(self, weight: Tensor) -> Tensor:
        return weight / self.sigma(weight)


def spectral_norm(module: nn.Module, name: str = "weight", n_power_iterations: int = 1,
                  dim: Optional[int] = None, seed: int = 0) -> nn.Module:
    """Register :class:`SpectralNorm` on ``module.<name>`` and return the module. Afterwards
    ``module.weight`` is W / sigma(W); the raw weight is ``module.parametrizations.weight.original``."""
    V.module("module", module)
    weight = getattr(module, name, None) if isinstance(name, str) else None
    if not isinstance(weight, Tensor) or weight.ndim < 2:
        names = [n for n, p in module.named_parameters(recurse=False) if p.ndim >= 2]
        if not names:
            V.fail("module", "a layer with a weight of at least 2 dimensions (Linear, Conv2d, ...)",
                   f"a {type(module).__name__}, which has no such tensor parameter")
        V.fail("name", f"the name of a weight of {type(module).__name__} with at least 2 dimensions, one of {names}",
               f"{name!r}" + (f" (a tensor of {weight.ndim} dimension{'s' if weight.ndim != 1 else ''})"
                              if isinstance(weight, Tensor) else ""))
    if dim is None:
        dim = 1 if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, SpectralNorm(weight, n_power_iterations, dim, seed=seed))
    return module


def spectral_norm_all(model: nn.Module, types: Sequence[type] = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d),
                      n_power_iterations: int = 1, seed: int = 0) -> nn.Module:
    """Spectrally normalise the weight of every submodule of the given ``types`` (each with its own
    ``u``, seeded ``seed``, ``seed + 1``, ...) and return the model. Embeddings and norms are left alone."""
    V.module("model", model)
    if not isinstance(types, (tuple, list)) or not types or not all(isinstance(t, type) for t in types):
        V.fail("types", "a tuple of layer classes, e.g. (nn.Linear,)", types, error=TypeError)
    layers = [m for m in model.modules() if isinstance(m, tuple(types))]
    if not layers:
        raise ValueError(f"model has no layer of types {[t.__name__ for t in types]} to normalise")
    for i, layer in enumerate(layers):
        spectral_norm(layer, n_power_iterations=n_power_iterations, seed=seed + i)
    return model


@torch.no_grad()
def spectral_norms(model: nn.Module, raw: bool = True) -> list:
    """Exact largest singular value (by SVD) of each weight matrix that :func:`spectral_norm` wrapped,
    in module order: of the raw weight when ``raw``, else of the normalised one (reshaped as in the paper).

    A read only: the normalised weight W / (u^T W v) is computed with the stored ``u`` as it is, in
    any mode (reading ``module.weight`` in training mode would run a power iteration and advance ``u``)."""
    V.module("model", model)
    out = []
    with torch.no_grad():
        for m in model.modules():
            if parametrize.is_parametrized(m, "weight"):
                p = m.parametrizations.weight
                sn = p[0]
                if raw:
                    W = p.original
                else:
                    was_training = sn.training
                    sn.eval()
                    try:
                        W = m.weight
                    finally:
                        sn.train(was_training)
                out.append(float(torch.linalg.matrix_norm(sn.matrix(W), 2)))
    return out


def conv_operator(weight: Tensor, input_shape: Sequence[int], stride: int = 1, padding: int = 0):
    """(A, A^T) for the convolution A(x) = conv2d(x, weight, stride, padding) on inputs [N, *input_shape]:
    A^T is conv_transpose2d with the same weight, stride and padding, and the ``output_padding`` that
    restores the input size, so that <A x, y> = <x, A^T y>."""
    c, h, w = V.shape_tuple("input_shape", input_shape, length=3)
    weight = V.float_tensor("weight", weight, f"a float conv weight [C_out, {c}, k, k]")
    if weight.ndim != 4 or weight.shape[1] != c:
        V.fail("weight", f"a float conv weight [C_out, {c}, k, k] for input_shape {tuple(input_shape)}", weight)
    V.positive_int("stride", stride)
    V.non_negative_int("padding", padding)
    kh, kw = weight.shape[2:]
    ho, wo = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    if ho < 1 or wo < 1:
        V.fail("input_shape", f"an input at least as large as the kernel {kh} x {kw} (after padding)",
               repr(tuple(input_shape)))
    extra = (h - ((ho - 1) * stride - 2 * padding + kh), w - ((wo - 1) * stride - 2 * padding + kw))

    def op(x):
        return F.conv2d(x, weight, stride=stride, padding=padding)

    def adjoint(y):  # the transpose of op: <op(x), y> = <x, adjoint(y)>
        return F.conv_transpose2d(y, weight, stride=stride, padding=padding, output_padding=extra)
    return op, adjoint


@torch.no_grad()
def conv_operator_norm(weight: Tensor, input_shape: Sequence[int], stride: int = 1, padding: int = 0,
                       n_iter: int = 200, seed: int = 0, tol: float = 1e-7) -> float:
    """The operator norm max ||conv(x)||_2 / ||x||_2 of the convolution ``F.conv2d(x, weight, stride,
    padding)`` (no bias) on inputs of shape ``input_shape`` = (C, H, W): power iteration on the
    operator itself, with ``conv_transpose2d`` as its adjoint (x <- A^T A x / ||A^T A x||). Stops
    after ``n_iter`` iterations or when sigma changes by less than ``tol`` (relative).

    This is the Lipschitz constant of the layer. The reshaped-matrix norm sigma(W reshaped) that SNGAN
    divides by is a different number: for stride 1 on periodic N x N inputs with N >= k,
    sigma(W reshaped) <= ||conv|| <= sqrt(k_h k_w) sigma(W reshaped), so the reshaped norm is a LOWER
    bound of this one. The upper bound also holds with zero padding. So does the lower one whenever
    some output pixel's k x k window lies inside the image (y = b at that pixel gives
    ||A^T y|| = ||W_reshaped^T b||): for stride 1 that is every image at least as large as the kernel;
    for larger strides it can fail on larger images too (a 4 x 4 kernel, stride 2, padding 1 on a 4 x 4
    image has no window inside it, and the bound fails for some kernels; see tests/test_layers.py).
    """
    V.shape_tuple("input_shape", input_shape, length=3)
    weight = V.float_tensor("weight", weight, "a float conv weight [C_out, C_in, k, k]")
    V.finite_values("weight", weight)
    V.positive_int("n_iter", n_iter)
    V.finite_number("tol", tol, low=0.0)
    op, adjoint = conv_operator(weight.detach(), input_shape, stride, padding)
    gen = torch.Generator().manual_seed(seed)
    x = l2_normalize(torch.randn(1, *input_shape, generator=gen, dtype=weight.dtype).to(weight.device))
    sigma = 0.0
    for _ in range(n_iter):
        x = l2_normalize(adjoint(op(x)))
        new = float(op(x).norm())
        if abs(new - sigma) <= tol * new:
            return new
        sigma = new
    return sigma
