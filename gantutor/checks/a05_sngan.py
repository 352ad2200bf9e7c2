"""Checking functions for assignment 5 (SNGAN, Miyato et al., 2018), in the verdict style of
:mod:`gantutor.checks`: each check runs the student's code on fixed, seeded inputs, prints exactly ONE
line and returns True or False:

    check_power_iteration: PASS
    check_power_iteration: FAIL - your estimate 13.69 is sigma^2, the square of the right one, 3.7 ...

Common wrong answers are named: an estimate of sigma^2 (u left unnormalised, ||W v||^2), division by
sqrt(sigma) or by max(sigma, 1), a second buffer v as PyTorch keeps, the Frobenius norm
instead of the spectral norm, sigma detached from the graph (the gradient of eq. 12 loses a term), the
buffer u itself in the graph of sigma (a second call before backward, as in every discriminator step,
then fails with an in-place error), u updated (or an iteration run) in eval mode, several power iterations per call, a fresh
random start, the exact norm instead of u^T W v (checked from a poor stored u), the top-level layers
only in a nested model, too few power iterations for the Lipschitz bound, the reshaped-kernel norm given for a
convolution's operator norm, an adjoint without (or with one shared) ``output_padding``. The test
matrices have sigma(W) far from 1, where those mistakes show. A check never raises on a wrong answer.
"""
from __future__ import annotations

import math
from typing import Callable, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from .. import layers
from .common import _Fail, _call, _close, _to_numpy, _verdict

__all__ = ["check_power_iteration", "check_spectral_norm_layer", "check_lipschitz_bound",
           "check_conv_operator_norm"]


def _matrix(m: int, n: int, top: float, gap: float, seed: int) -> torch.Tensor:
    """A float64 matrix [m, n] with sigma_1 = top and sigma_2 = gap * top (the rest smaller)."""
    gen = torch.Generator().manual_seed(seed)
    r = min(m, n)
    U, _ = torch.linalg.qr(torch.randn(m, r, generator=gen, dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(n, r, generator=gen, dtype=torch.float64))
    s = torch.cat([torch.tensor([1.0, gap], dtype=torch.float64), torch.linspace(0.8 * gap, 0.1, r - 2, dtype=torch.float64)])
    return U @ torch.diag(top * s) @ V.T


def _scalar(value, what: str) -> float:
    arr = _to_numpy(value)
    if arr.size != 1:
        raise _Fail(f"{what} should be one number, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def _unpack(out):
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise _Fail("power_iteration must return a tuple (sigma, u, v)")
    return out


def check_power_iteration(fn: Callable) -> bool:
    """``fn(W, u, n_iter)`` should run Algorithm 1 of Miyato et al. (v <- W^T u / ||W^T u||,
    u <- W v / ||W v||, ``n_iter`` times) and return (sigma = u^T W v, u, v)."""
    def body():
        for m, n, top, seed in [(12, 20, 3.7, 0), (30, 8, 0.2, 1)]:
            W = _matrix(m, n, top, 0.6, seed)
            u0 = torch.randn(m, generator=torch.Generator().manual_seed(seed + 10), dtype=torch.float64)
            sigma, u, v = _unpack(_call(fn, W.clone(), u0.clone(), 1))
            want, u_ref, v_ref = layers.power_iteration(W, u0, 1)
            got = _scalar(sigma, "sigma")
            if _close(got, float(want) ** 2, 1e-6, 1e-12):  # u = W v unnormalised: u^T W v = ||W v||^2
                raise _Fail(f"your estimate {got:.5g} is sigma^2, the square of the right one, {float(want):.5g} (e.g. "
                            f"||W v||^2 or v^T W^T W v, or u^T W v with u = W v not normalised): after u <- W v divide by "
                            f"||W v||, and return sigma = u^T W v = ||W v||, not its square")
            if _close(got, float(torch.linalg.matrix_norm(W)), 1e-6, 1e-12):
                raise _Fail("that is the Frobenius norm ||W||_F, an upper bound; the spectral norm is the largest "
                            "singular value, estimated by u^T W v")
            if _close(got, float((W.T @ u_ref).norm()), 1e-6, 1e-12):
                raise _Fail("your sigma is ||W^T u|| with the new u (the start of the next iteration); return "
                            "sigma = u^T W v with the v that produced that u")
            if not _close(got, float(want), 1e-6, 1e-12):
                raise _Fail(f"after one iteration from the given u your sigma is {got:.6g}, expected {float(want):.6g}: "
                            f"v <- W^T u / ||W^T u||, then u <- W v / ||W v||, then sigma = u^T W v")
            u_t = torch.as_tensor(_to_numpy(u))
            if u_t.shape != (m,) or not torch.allclose(u_t, u_ref, atol=1e-8):
                raise _Fail(f"the returned u should be the new unit vector W v / ||W v|| of shape [{m}]")
            v_t = torch.as_tensor(_to_numpy(v))
            if v_t.shape != (n,) or not torch.allclose(v_t, v_ref, atol=1e-8):
                raise _Fail(f"the returned v should be the unit vector W^T u / ||W^T u|| of shape [{n}] (u the start "
                            f"of the last iteration)")
            many = _scalar(_unpack(_call(fn, W.clone(), u0.clone(), 100))[0], "sigma")
            exact = float(torch.linalg.matrix_norm(W, 2))
            if not _close(many, exact, 1e-8, 1e-12):
                raise _Fail(f"after 100 iterations your sigma is {many:.8g}, but torch.linalg.matrix_norm(W, 2) = "
                            f"{exact:.8g}: does n_iter control the number of iterations?")
    return _verdict("check_power_iteration", body)


def _register(cls, layer: nn.Linear) -> nn.Linear:
    module = _call(cls, layer.weight.detach().clone())
    if not isinstance(module, nn.Module):
        raise _Fail(f"{getattr(cls, '__name__', cls)}(weight) should build an nn.Module, got {type(module).__name__}")
    _call(parametrize.register_parametrization, layer, "weight", module)
    return layer


def _two_calls_then_backward(layer: nn.Linear) -> None:
    """Call the layer twice in training mode, then backpropagate through both calls, as a
    discriminator step does with D(real) and D(fake). If sigma keeps the buffer u itself in the graph,
    the second call's in-place update of u breaks the first call's backward pass."""
    gen = torch.Generator().manual_seed(7)
    x1, x2 = (torch.randn(5, 24, generator=gen, dtype=torch.float64) for _ in range(2))
    out = _call(lambda: layer(x1).sum() + layer(x2).sum())
    try:
        out.backward()
    except RuntimeError as e:
        if "inplace" in str(e) or "in-place" in str(e):
            raise _Fail("two calls before backward (as in a discriminator step: D(real), then D(fake)) fail: use "
                        "self.u.clone() wherever the buffer enters the graph (in sigma = u^T W v, and in v if you "
                        "compute v from it); the second call updates u in place while the first call's graph needs it") from None
        raise _Fail(f"backward through two calls of the layer raised RuntimeError: {e}") from None
    layer.zero_grad(set_to_none=True)


def _poor_u(W: torch.Tensor) -> torch.Tensor:
    """A unit vector far from W's top left singular vector u_1: u_2 + 0.05 u_1, normalised. One power
    iteration from it leaves u^T W v near sigma_2, so W / (u^T W v) has a norm well above 1."""
    U = torch.linalg.svd(W.detach())[0]
    return F.normalize(U[:, 1] + 0.05 * U[:, 0], dim=0)


def _one_call_from(layer: nn.Linear, key: str, u0: torch.Tensor) -> Tuple[torch.Tensor, float]:
    """Put ``u0`` into the buffer, call the layer once; return the buffer after it and the normalised
    weight's spectral norm."""
    with torch.no_grad():
        layer.get_buffer(key).copy_(u0)
    w = _call(lambda: layer.weight)
    return layer.state_dict()[key].clone(), float(torch.linalg.matrix_norm(w.detach().double(), 2))


def check_spectral_norm_layer(cls) -> bool:
    """``cls(weight)`` should be a parametrisation module: a buffer ``u`` (in the state_dict), one power
    iteration per call in training mode, none in eval mode, forward(W) = W / (u^T W v) with the
    gradient flowing through sigma (Miyato et al., 2018, eq. 8 and 12). Checked: from a given poor u,
    one training-mode call stores exactly one iteration's u and leaves the weight's norm well above 1
    (so neither several iterations, nor a fresh start, nor the exact norm passes); after 60 calls the norm
    is 1, also for a second weight with sigma = 0.2 (so dividing by max(sigma, 1) fails); eval mode leaves
    u unchanged and divides by an estimate from the stored u, checked to 1e-6: u^T W v = ||W^T u|| with
    v = W^T u / ||W^T u||, or ||W v|| with that v (Algorithm 1's u^T W v after the update, the same number
    as an iteration run in eval mode without storing it)."""
    def body():
        torch.manual_seed(0)
        layer = _register(cls, nn.Linear(24, 16).double())
        with torch.no_grad():
            layer.parametrizations.weight.original.copy_(_matrix(16, 24, 4.0, 0.7, 3))
        buffers = [k for k in layer.state_dict() if k.endswith(".u")]
        if not buffers:
            raise _Fail("no buffer named u in the layer's state_dict: register it with self.register_buffer('u', ...)")
        W0 = layer.parametrizations.weight.original.detach().clone()
        u0 = _poor_u(W0)
        u1, norm1 = _one_call_from(layer, buffers[0], u0)
        if torch.allclose(u1, u0, atol=1e-8):
            raise _Fail("one training-mode call left the buffer u unchanged: run one power iteration from the stored "
                        "u and store the new u in place, self.u.copy_(...)")
        want = F.normalize(W0 @ F.normalize(W0.T @ u0, dim=0), dim=0)
        if not torch.allclose(u1, want, atol=1e-8) and any(k.endswith(".v") for k in layer.state_dict()):
            raise _Fail("after one training-mode call from a given u the buffer u does not hold one iteration from "
                        "it: your layer also keeps a buffer v and seems to start from it (u <- W v, as PyTorch's "
                        "spectral_norm does, also a correct design). This task asks for one call of your "
                        "power_iteration from the stored u (v <- W^T u / ||W^T u||, then u <- W v / ||W v||), u "
                        "being the only state")
        if not torch.allclose(u1, want, atol=1e-8):
            raise _Fail("after one training-mode call from a given u the buffer should hold ONE iteration's result, "
                        "W v / ||W v|| with v = W^T u / ||W^T u||: start from the stored u (not a fresh random "
                        "vector) and run exactly one iteration per call")
        if not norm1 > 1.1:
            hint = "you seem to divide by the exact norm; " if abs(norm1 - 1) < 0.1 else ""
            raise _Fail(f"after one call from a u far from the top singular vector your normalised weight has spectral "
                        f"norm {norm1:.3g}; dividing by u^T W v with that u leaves about 1.4: {hint}divide by "
                        f"sigma = u^T W v from the stored u")
        for _ in range(60):
            w = _call(lambda: layer.weight)
        norm = float(torch.linalg.matrix_norm(w.detach(), 2))
        if _close(norm, 1 / 4.0, 1e-3, 1e-9):
            raise _Fail("the normalised weight has spectral norm 1/sigma: you divide by sigma^2 (e.g. ||W v||^2, "
                        "v^T W^T W v, or u^T W v with u not normalised); divide by sigma = u^T W v")
        if _close(norm, 2.0, 1e-3, 1e-9):
            raise _Fail("the normalised weight has spectral norm sqrt(sigma) (here 2 for sigma = 4): you divide by "
                        "sqrt(sigma); divide by sigma = u^T W v itself")
        if not _close(norm, 1.0, 1e-5, 1e-9):
            raise _Fail(f"after 60 training-mode calls the normalised weight has spectral norm {norm:.5g}, expected 1: "
                        f"does each call run a power iteration and store u?")
        small = _register(cls, nn.Linear(24, 16).double())
        with torch.no_grad():
            small.parametrizations.weight.original.copy_(_matrix(16, 24, 0.2, 0.7, 5))
        for _ in range(60):
            w = _call(lambda: small.weight)
        norm = float(torch.linalg.matrix_norm(w.detach(), 2))
        if _close(norm, 0.2, 1e-3, 1e-9):
            raise _Fail("for a weight with sigma = 0.2 your normalised weight keeps spectral norm 0.2: spectral "
                        "normalisation divides by sigma always (eq. 8), not only when sigma > 1; W / sigma must "
                        "have norm 1 even when sigma < 1 (do not clamp sigma at 1)")
        if not _close(norm, 1.0, 1e-5, 1e-9):
            raise _Fail(f"for a weight with sigma = 0.2, after 60 training-mode calls the normalised weight has "
                        f"spectral norm {norm:.5g}, expected 1")
        _two_calls_then_backward(layer)
        layer.eval()
        with torch.no_grad():
            layer.parametrizations.weight.original.mul_(1 + 0.1 * torch.randn(16, 24, dtype=torch.float64))
        u_poor = _poor_u(layer.parametrizations.weight.original)
        u_after, sigma_eval = _one_call_from(layer, buffers[0], u_poor)
        if not torch.equal(u_after, u_poor):
            raise _Fail("in eval mode u changed: only update u when self.training is True")
        if not 1.1 < sigma_eval < 2.0:
            hint = ("you seem to divide by the exact norm; " if abs(sigma_eval - 1) < 0.1 else "")
            raise _Fail(f"in eval mode your weight has spectral norm {sigma_eval:.3g}; from the stored u used here "
                        f"W / (u^T W v) has about 1.4: {hint}keep dividing by sigma = u^T W v (from the stored u, "
                        f"without updating it); only the power-iteration update stops in eval mode")
        Wc = layer.parametrizations.weight.original.detach()
        want_eval = float(torch.linalg.matrix_norm(Wc, 2) / (Wc.T @ u_poor).norm())   # u^T W v = ||W^T u||
        one_more = float(torch.linalg.matrix_norm(Wc, 2) / (Wc @ F.normalize(Wc.T @ u_poor, dim=0)).norm())
        if not (_close(sigma_eval, want_eval, 1e-6, 1e-12) or _close(sigma_eval, one_more, 1e-6, 1e-12)):
            raise _Fail(f"in eval mode your weight has spectral norm {sigma_eval:.7g}, expected {want_eval:.7g}: "
                        f"divide by u^T W v with the stored u and v = W^T u / ||W^T u||")
        layer.train()
        for _ in range(200):
            _call(lambda: layer.weight)
        W = layer.parametrizations.weight.original
        G = torch.randn(16, 24, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
        (ours,) = torch.autograd.grad((layer.weight * G).sum(), W)
        Wd = W.detach().clone().requires_grad_(True)
        (exact,) = torch.autograd.grad((Wd / torch.linalg.matrix_norm(Wd, 2) * G).sum(), Wd)
        detached = G / torch.linalg.matrix_norm(W.detach(), 2)
        if torch.allclose(ours, detached, rtol=1e-5, atol=1e-8):
            raise _Fail("sigma is detached from the graph (W.data or no_grad around u^T W v): compute sigma = u^T W v "
                        "with the weight itself, only u and v constant, so the gradient has eq. (12)'s second term")
        if not torch.allclose(ours, exact, rtol=1e-4, atol=1e-7):
            raise _Fail("the gradient with respect to the raw weight differs from that of W / ||W||_2")
    return _verdict("check_spectral_norm_layer", body)


def check_lipschitz_bound(fn: Callable) -> bool:
    """``fn(model)`` should return the product of the spectral norms of ALL the model's Linear weights,
    also those inside nested blocks (the test model nests two of its three Linear layers, as
    MLPDiscriminator keeps its layers in ``.body``), to 6 significant digits."""
    def body():
        torch.manual_seed(1)
        model = nn.Sequential(nn.Sequential(nn.Linear(6, 32), nn.LeakyReLU(0.2)), nn.Linear(32, 32), nn.ReLU(),
                              nn.Sequential(nn.Linear(32, 1))).double()
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        norms = [torch.linalg.matrix_norm(m.weight.detach(), 2) for m in linears]
        frob = [torch.linalg.matrix_norm(m.weight.detach()) for m in linears]
        got, want = _scalar(_call(fn, model), "the bound"), float(math.prod(norms))
        if _close(got, want, 1e-6, 1e-12):
            return
        if _close(got, float(math.prod(frob)), 1e-6, 1e-12):
            raise _Fail("that is the product of Frobenius norms, a looser bound; use the spectral norms "
                        "(torch.linalg.matrix_norm(W, 2) or your power_iteration)")
        if _close(got, float(sum(norms)), 1e-6, 1e-12):
            raise _Fail("you added the spectral norms; the Lipschitz constant of a composition is bounded by their PRODUCT")
        top = [m for m in model.children() if isinstance(m, nn.Linear)]
        if _close(got, float(math.prod(torch.linalg.matrix_norm(m.weight.detach(), 2) for m in top)), 1e-6, 1e-12):
            raise _Fail("you multiplied only the top-level Linear layers; the test model nests the others in blocks "
                        "(as MLPDiscriminator keeps its layers in .body): model.modules() visits every submodule")
        if _close(got, want, 1e-2, 1e-12):
            raise _Fail(f"your bound {got:.6g} is close to the product of the spectral norms, {want:.6g}, but not to 6 "
                        f"digits: with power_iteration run enough iterations (100 suffice here, 20 do not), or use "
                        f"torch.linalg.matrix_norm(W, 2)")
        raise _Fail(f"your bound is {got:.6g}, the product of the spectral norms of the Linear layers is {want:.6g}")
    return _verdict("check_lipschitz_bound", body)


def _ignoring_output_padding(w: torch.Tensor, shape, stride: int, padding: int, n_iter: int = 300) -> float:
    """The norm a power iteration gives when its adjoint drops ``output_padding``: A^T then returns a
    smaller image and the iteration runs on inputs of that smaller size. Zero-padding that smaller image back
    to the input's size gives the same number (the iteration then lives on inputs that are zero there)."""
    x = torch.randn(1, *shape, generator=torch.Generator().manual_seed(0), dtype=w.dtype)
    for _ in range(n_iter):
        x = F.conv_transpose2d(F.conv2d(x, w, stride=stride, padding=padding), w, stride=stride, padding=padding)
        x = x / x.norm()
    return float(F.conv2d(x, w, stride=stride, padding=padding).norm())


def _norm_on(w: torch.Tensor, shape, stride: int, padding: int) -> float:
    """The exact operator norm by the SVD of the convolution's explicit matrix."""
    dense = torch.autograd.functional.jacobian(
        lambda x: F.conv2d(x[None], w, stride=stride, padding=padding).flatten(),
        torch.zeros(shape, dtype=torch.float64)).reshape(-1, math.prod(shape))
    return float(torch.linalg.matrix_norm(dense, 2))


CONV_CASES = [  # (k, stride, padding, input shape): output_padding (0, 0), (0, 0), (1, 1), (1, 0)
    (3, 1, 1, (2, 8, 8)), (4, 2, 1, (2, 8, 8)), (3, 2, 1, (2, 8, 8)), (3, 2, 1, (2, 8, 7))]


def check_conv_operator_norm(fn: Callable) -> bool:
    """``fn(weight, input_shape, stride, padding)`` should return max ||conv2d(x)|| / ||x|| over inputs of
    shape [1, *input_shape], compared here with the SVD of the convolution's explicit matrix. The cases
    need output_padding 0, 1 in both dimensions, and 1 in the height only (a non-square input)."""
    def body():
        gen = torch.Generator().manual_seed(5)
        for k, stride, padding, shape in CONV_CASES:
            w = torch.randn(5, 2, k, k, generator=gen, dtype=torch.float64)
            want = _norm_on(w, shape, stride, padding)
            got = _scalar(_call(fn, w.clone(), shape, stride, padding), "the operator norm")
            if _close(got, want, 1e-3, 1e-9):
                continue
            where = f"a {k}x{k} kernel, stride {stride}, padding {padding} on {shape} inputs"
            if _close(got, float(torch.linalg.matrix_norm(w.flatten(1), 2)), 1e-3, 1e-9):
                raise _Fail("that is sigma of the reshaped kernel [C_out, C_in k k] (what SNGAN divides by), not the "
                            "norm of the convolution: iterate x <- A^T A x with A = conv2d and A^T = conv_transpose2d")
            if _close(got, _ignoring_output_padding(w, shape, stride, padding), 1e-3, 1e-9):
                raise _Fail(f"for {where} your A^T returns a smaller image than the input (or pads the smaller image "
                            f"with zeros: the extra rows and columns are not zero): conv_transpose2d needs "
                            f"output_padding = H - ((H_out - 1) stride - 2 padding + k) (here 1) to restore the size")
            c, h, wd = shape
            if h != wd and _close(got, _norm_on(w, (c, h, h), stride, padding), 1e-3, 1e-9):
                raise _Fail(f"for {where} your norm is that of {h}x{h} inputs: compute output_padding for the "
                            f"height and the width separately, output_padding=(extra_h, extra_w)")
            raise _Fail(f"for {where} your norm is {got:.6g}, the SVD of the convolution's matrix gives {want:.6g}")
    return _verdict("check_conv_operator_norm", body)
