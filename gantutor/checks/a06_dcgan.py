"""Checking functions for assignment 6 (DCGAN, Radford et al., 2016), in the verdict style of
:mod:`gantutor.checks`: each check runs the student's code on fixed, seeded inputs, prints exactly ONE
line and returns True or False:

    check_generator_stack: PASS
    check_generator_stack: FAIL - after the first stride-2 layer the map is 13 x 13, expected 14 x 14; ...

Common wrong answers are named: the convolution's size formula given for the transposed one, a 3 x 3
kernel with stride 2 (13 x 13 instead of 14 x 14, or 14 x 14 with ``output_padding=1``: a kernel not
divisible by its stride), a missing tanh, batch norm on the output layer, a ReLU before the output
tanh, a layer the task's table does not list (Dropout2d), a tanh in a hidden layer or two at the
output, activations written functionally (F.relu in a forward, invisible to the check), fakes not
detached in the discriminator's step, fakes made with G in eval mode, real and fake labels swapped,
stale gradients, one mixed real+fake batch through a batch-normalised D, one mean over the real and
fake batches together (the discriminator's step is checked with 16 real and 12 fake images, so that
answer differs from the sum of the two means), a loss computed from sigmoid outputs (log(sigmoid(l)),
nn.BCELoss: the step is checked again with logits near +120 and near -120, where those lose the
gradient), zero_grad() called after backward(), the two means averaged instead of summed, D(fake) computed
without gradients. A check never raises on a wrong answer.
"""
from __future__ import annotations

from typing import Callable, List

import torch
import torch.nn.functional as F
from torch import nn

from .. import losses
from .common import STABILITY_HINT, _Fail, _call, _verdict, compare_d_step
from ..models.dcgan import DCGANDiscriminator, DCGANGenerator

__all__ = ["check_transposed_output_size", "check_generator_stack", "check_d_train_step"]

LARGE_LOGIT = 120.0  # the D-step check's extra cases: every logit near +120, then near -120; in float32
# sigmoid(120) rounds to 1 and sigmoid(-120) = e^-120 underflows to 0 (below e^-103.3, the smallest float)
SIZE_CASES = [(7, 4, 2, 1), (14, 4, 2, 1), (1, 7, 1, 0), (1, 4, 1, 0), (5, 3, 2, 1), (3, 3, 1, 0),
              (4, 5, 3, 2), (6, 3, 2, 0)]


def check_transposed_output_size(fn: Callable) -> bool:
    """``fn(i, k, s, p)`` should be ConvTranspose2d's output side (i - 1) s - 2p + k, checked against torch."""
    def body():
        for i, k, s, p in SIZE_CASES:
            got = _call(fn, i, k, s, p)
            want = nn.ConvTranspose2d(1, 1, k, s, p)(torch.zeros(1, 1, i, i)).shape[-1]
            value = _one_number(got, (i, k, s, p))
            if value == want:
                continue
            if value in ((i + 2 * p - k) // s + 1, (i + 2 * p - k) / s + 1):
                raise _Fail("that is the output size of an ordinary convolution, floor((i + 2p - k) / s) + 1; "
                            "the transposed convolution inverts it: (i - 1) s - 2p + k")
            if not value.is_integer():
                raise _Fail(f"return an integer, got {_short(got)} for (i, k, s, p) = {(i, k, s, p)}")
            if value == (i - 1) * s + k:
                raise _Fail("the padding is missing: p removes p pixels on each side, (i - 1) s - 2p + k")
            raise _Fail(f"for (i, k, s, p) = {(i, k, s, p)} you return {got}, torch's ConvTranspose2d gives {want}")
    return _verdict("check_transposed_output_size", body)


def _short(x, n: int = 60) -> str:
    r = " ".join(repr(x).split())
    return r if len(r) <= n else r[:n - 3] + "..."


def _one_number(got, case) -> float:
    """The student's size as a float; a FAIL naming the return value if it is not one number."""
    if got is None or isinstance(got, (bool, str, bytes)):
        raise _Fail(f"return an integer, got {_short(got)} for (i, k, s, p) = {case}")
    try:
        return float(got)
    except Exception:   # a shape-like tensor or array, a list, a NaN that int() refuses, ...
        raise _Fail(f"return one integer (the side of the square output), got {_short(got)} for "
                    f"(i, k, s, p) = {case}") from None


def _trace(stack: nn.Module, z: torch.Tensor):
    """Output shapes of every ConvTranspose2d of ``stack`` (in call order), the input side each one saw
    (keyed by module), the stack's output, and every call of a leaf module in call order as (module,
    input, output) (a module called twice, e.g. one shared ReLU, appears twice; inputs are copied before
    the call, so in-place layers do not overwrite them)."""
    shapes: List[tuple] = []
    in_sides: dict = {}
    calls: list = []

    def pre_hook(m, i):
        calls.append([m, i[0].detach().clone() if i and isinstance(i[0], torch.Tensor) else None, None])

    def hook(m, i, o):
        if isinstance(m, nn.ConvTranspose2d):
            shapes.append(tuple(o.shape))
            in_sides[m] = tuple(i[0].shape[-2:])
        if not list(m.children()):
            for c in reversed(calls):
                if c[0] is m and c[2] is None:
                    c[2] = o.detach().clone() if isinstance(o, torch.Tensor) else None
                    break
    leaves = [m for m in stack.modules() if not list(m.children())]
    hooks = [m.register_forward_pre_hook(pre_hook) for m in leaves]
    hooks += [m.register_forward_hook(hook) for m in stack.modules()
              if isinstance(m, nn.ConvTranspose2d) or m in leaves]
    try:
        with torch.no_grad():
            out = _call(stack, z)
    finally:
        for h in hooks:
            h.remove()
    return shapes, in_sides, out, calls


def _taps_per_phase(k: int, s: int, d: int = 1) -> list:
    """How many kernel taps (at offsets 0, d, ..., (k - 1) d) land on output pixels of each phase r mod s:
    the overlap is even when every phase gets the same number (for d = 1: k divisible by s)."""
    return [sum(1 for j in range(k) if (j * d) % s == r) for r in range(s)]


def _check_even_overlap(stack: nn.Module, in_sides: dict) -> None:
    """Every strided transposed convolution must overlap its stamps evenly: each output pixel gets the
    same number of kernel taps (kernel divisible by the stride; with dilation d, taps counted per phase).
    A layer whose input is 1 x 1 places a single stamp, so its stride does nothing there: it is exempt."""
    convs = [m for m in stack.modules() if isinstance(m, nn.ConvTranspose2d)]
    for j, m in enumerate(convs):
        (k, _), (s, _), (d, _) = m.kernel_size, m.stride, m.dilation
        if in_sides.get(m, (2, 2)) == (1, 1) or s == 1:
            continue
        if len(set(_taps_per_phase(k, s, d))) > 1:
            extra = f" and output_padding={m.output_padding[0]}" if any(m.output_padding) else ""
            if d == 1:
                why = f"{k} is not divisible by {s}"
            else:
                why = f"dilated, its taps hit the {s} output phases {'/'.join(map(str, _taps_per_phase(k, s, d)))} times"
                extra = f", dilation {d}" + extra
            raise _Fail(f"transposed convolution {j + 1} has kernel {k}, stride {s}{extra}: the right size, but "
                        f"{why}, so its stamps overlap unevenly (checkerboard artefacts); "
                        f"use k=4, s=2, p=1" + (" (the PyTorch tutorial's choice)" if d == 1 else ""))


def _check_chain(calls, z, out) -> None:
    """The layers, in call order, must feed each other directly: z into the first, each output into the
    next, the last one's output returned. Arithmetic in a forward between them is outside the table."""
    tensors = [z] + [t for c in calls for t in (c[1], c[2])] + [out]
    for j in range(0, len(tensors), 2):
        a, b = tensors[j], tensors[j + 1]
        if a is None or b is None or a.shape != b.shape or not torch.equal(a, b):
            where = ("before your first layer" if j == 0 else "after your last layer" if j == len(tensors) - 2
                     else f"between your {type(calls[j // 2 - 1][0]).__name__} and "
                          f"{type(calls[j // 2][0]).__name__} layers")
            rng = ""
            if j == len(tensors) - 2 and isinstance(out, torch.Tensor) and float(out.min()) >= 0:
                rng = " (your images lie in [0, 1], the data in [-1, 1])"
            raise _Fail(f"your forward changes the values {where}{rng}: the check reads the layers the table "
                        f"lists and nothing else may compute; return an nn.Sequential of the table's layers")


def _check_stack_shapes(shapes, latent_dim, ngf, n):
    want = [(n, 2 * ngf, 7, 7), (n, ngf, 14, 14), (n, 1, 28, 28)]
    if len(shapes) != 3:
        raise _Fail(f"your stack has {len(shapes)} ConvTranspose2d layers; it needs 3 (z -> 7 x 7 -> 14 x 14 -> 28 x 28)")
    for j, (got, exp) in enumerate(zip(shapes, want)):
        if got == exp:
            continue
        if j > 0 and got[-1] == 2 * shapes[j - 1][-1] - 1:
            raise _Fail(f"after transposed convolution {j + 1} the map is {got[-1]} x {got[-1]}, expected "
                        f"{exp[-1]} x {exp[-1]}: with k=3, s=2, p=1 the side is (i - 1) 2 - 2 + 3 = 2i - 1; use "
                        f"k=4, s=2, p=1 (2i exactly, and k divisible by s: an even overlap)")
        raise _Fail(f"transposed convolution {j + 1} outputs {list(got)}, expected {list(exp)} "
                    f"([N, channels, height, width])")


_TABLE_LAYERS = (nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU, nn.Tanh)
# the task's table, layer by layer (nn.Identity and nesting ignored)
_TABLE_ORDER = [nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU] * 2 + [nn.ConvTranspose2d, nn.Tanh]


def check_generator_stack(fn: Callable) -> bool:
    """``fn(latent_dim, ngf)`` should return an nn.Sequential (any nn.Module whose layers, activations
    included, are modules and feed each other directly is accepted; the layers are read in the order they
    run, a shared module at each call; functional activations are invisible to the check) mapping z
    [N, latent_dim, 1, 1] to [N, 1, 28, 28] in [-1, 1]: ConvT(k=7) to [2ngf, 7, 7], ConvT(k=4, s=2, p=1)
    to [ngf, 14, 14] and to [1, 28, 28]; BN + ReLU after the first two, tanh after the last. Its layers,
    read in order without nn.Identity and without nesting, must be exactly the table's
    [ConvT, BN, ReLU, ConvT, BN, ReLU, ConvT, Tanh]; stride-2 kernels divisible by the stride. Biases
    are optional on every layer."""
    def body():
        for latent_dim, ngf in ((10, 4), (16, 6)):
            stack = _call(fn, latent_dim, ngf)
            if not isinstance(stack, nn.Module):
                raise _Fail(f"return an nn.Module (e.g. nn.Sequential), got {type(stack).__name__}")
            if type(stack).forward is nn.Module.forward:
                raise _Fail(f"an nn.{type(stack).__name__} has no forward (calling it raises NotImplementedError): "
                            f"return an nn.Sequential, which calls its layers in order")
            torch.manual_seed(0)
            z = 3.0 * torch.randn(8, latent_dim, 1, 1)
            shapes, in_sides, out, calls = _trace(stack.train(), z)
            _check_stack_shapes(shapes, latent_dim, ngf, 8)
            _check_even_overlap(stack, in_sides)
            # the leaf layers in the order they ran (a shared ReLU counts at each call)
            layers = [c[0] for c in calls if not isinstance(c[0], nn.Identity)]
            kinds = [type(m) for m in layers]
            if nn.ReLU not in kinds and nn.Tanh not in kinds:
                raise _Fail("your stack has no nn.ReLU or nn.Tanh layers: use nn.ReLU()/nn.Tanh() layers in an "
                            "nn.Sequential; functional activations (F.relu, torch.tanh in a forward) are "
                            "invisible to the check")
            if kinds.count(nn.BatchNorm2d) != 2 or any(isinstance(m, nn.BatchNorm2d) for m in layers[-2:]):
                raise _Fail("use BatchNorm2d after the first two transposed convolutions and none on the output "
                            "layer (Radford et al.: batch norm on G's output made training unstable)")
            if any(isinstance(m, (nn.LeakyReLU, nn.ELU)) for m in layers):
                raise _Fail("the generator uses ReLU in its hidden layers (LeakyReLU is the discriminator's)")
            n_relu = kinds.count(nn.ReLU)
            if n_relu > 2:
                convs = [i for i, k in enumerate(kinds) if k is nn.ConvTranspose2d]
                if kinds[convs[-1] + 1:convs[-1] + 2] == [nn.ReLU]:
                    raise _Fail("only two ReLUs, after the two batch norms: none after the last transposed "
                                "convolution (its output goes straight into tanh)")
                raise _Fail(f"your stack has {n_relu} ReLUs; use exactly two, one after each of the first two "
                            f"batch norms")
            if n_relu < 2:
                raise _Fail("put a ReLU after each of the first two batch norms")
            convs = [i for i, k in enumerate(kinds) if k is nn.ConvTranspose2d]
            for i in convs[:2]:
                if kinds[i + 1:i + 3] != [nn.BatchNorm2d, nn.ReLU]:
                    got = ", ".join(k.__name__ for k in kinds[i + 1:i + 3])
                    raise _Fail(f"after each of the first two transposed convolutions comes BatchNorm2d, then ReLU "
                                f"(in that order); yours has {got}")
            if isinstance(layers[-1], nn.Sigmoid):
                raise _Fail("the output goes through a sigmoid, in [0, 1]; the data are scaled to [-1, 1]: use tanh")
            if not isinstance(layers[-1], nn.Tanh) or float(out.abs().max()) > 1.0:
                raise _Fail("the last layer must be nn.Tanh(), so that images lie in [-1, 1] like the data")
            extra = [k.__name__ for k in kinds if k not in _TABLE_LAYERS]
            if extra:
                raise _Fail(f"your stack also has {', '.join(extra)}, which the table does not list: use only its "
                            f"layers (ConvTranspose2d, BatchNorm2d, ReLU, and tanh at the output)")
            if kinds != _TABLE_ORDER:
                n_tanh = kinds.count(nn.Tanh)
                if n_tanh > 1:
                    where = ("two tanh layers in a row at the output squash it twice, into (-0.76, 0.76), so G "
                             "can never reach the data's -1 and +1" if kinds[-2:] == [nn.Tanh, nn.Tanh] else
                             "a tanh in a hidden layer is not in the table")
                    raise _Fail(f"your stack has {n_tanh} Tanh layers; use exactly one, as the last layer: {where}")
                got = ", ".join(k.__name__ for k in kinds)
                raise _Fail(f"your layers, in order, are {got}; the table's are "
                            f"{', '.join(k.__name__ for k in _TABLE_ORDER)}")
            _check_chain(calls, z, out)
    return _verdict("check_generator_stack", body)


# ---- the discriminator's step -------------------------------------------------------------------

def _step_setup(shift: float = 0.0):
    """Tiny seeded DCGAN pair at 28 x 28, an SGD optimiser for D with momentum 0.9 and a filled momentum
    buffer (a step with an optimiser of the student's own, ignoring ``opt_d``, differs), and stale gradients
    everywhere; 16 real images and 12 codes (unequal sizes: one mean over both batches differs from the
    sum of the two means). ``shift`` gives D's last convolution a bias of ``shift``: every logit is then
    near ``shift``; at +120 (a discriminator confidently wrong about the fakes) log(1 - sigmoid(l)) rounds
    to log(0), at -120 (wrong about the reals) log(sigmoid(l)) does."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(6)
        G, D = DCGANGenerator(8, 28, 1, 4), DCGANDiscriminator(28, 1, 4)
        if shift:
            D.main[-1].bias = nn.Parameter(torch.full((1,), float(shift)))
        x_real, z = torch.rand(16, 1, 28, 28) * 2 - 1, torch.randn(12, 8)
        for p in list(D.parameters()) + list(G.parameters()):
            p.grad = 0.5 * torch.randn_like(p)
        opt = torch.optim.SGD(D.parameters(), lr=0.1, momentum=0.9)
        for p in D.parameters():
            opt.state[p]["momentum_buffer"] = 0.5 * torch.randn_like(p)
    return D, G, opt, x_real, z


def _replay(zero_grad: bool = True, swap: bool = False, joint: bool = False, pooled: float = 0.0,
            shift: float = 0.0, g_eval: bool = False, scale: float = 1.0, fake_grad: bool = True,
            late_zero: bool = False):
    D, G, opt, x_real, z = _step_setup(shift)
    G.train(not g_eval)   # g_eval: the fakes made by G in eval mode (running batch-norm statistics)
    with torch.no_grad():
        fake = G(z)
    G.train()
    if joint:
        logits = D(torch.cat([x_real, fake]))
        real_logits, fake_logits = logits[:len(x_real)], logits[len(x_real):]
    else:
        real_logits = D(x_real)
        with torch.set_grad_enabled(fake_grad):   # fake_grad=False: D(fake) also under no_grad
            fake_logits = D(fake)
    if pooled:   # one BCE mean over both batches (times ``pooled``)
        logits = torch.cat([real_logits, fake_logits])
        labels = torch.cat([torch.ones_like(real_logits), torch.zeros_like(fake_logits)])
        loss = pooled * F.binary_cross_entropy_with_logits(logits, labels)
    else:
        loss = losses.d_bce(fake_logits, real_logits) if swap else losses.d_bce(real_logits, fake_logits)
    loss = scale * loss
    if zero_grad:
        opt.zero_grad()
    loss.backward()
    if late_zero:   # zero_grad(set_to_none=False) between backward() and step(): only the momentum moves D
        opt.zero_grad(set_to_none=False)
    opt.step()
    return [p.detach().clone() for p in D.parameters()], float(loss.detach())


_JOINT = ("you passed one concatenated real+fake batch through D; with batch norm that mixes their "
          "statistics: call D(x_real) and D(fake) separately (as gantutor's Trainer does)")
_POOLED = ("you took one BCE mean over the real and fake batches together; that weights the two terms by "
           "their batch sizes (2 x that mean is right only when they are equal): take the mean of each term "
           "separately and add them")


def check_d_train_step(fn: Callable) -> bool:
    """``fn(D, G, opt_d, x_real, z)`` should do one discriminator update on the binary cross-entropy of
    the logits D(x_real) (label 1) and D(G(z)) (label 0), fakes made without gradients into G, real and
    fake batches through D separately, and return the loss. Checked by replaying on identical networks
    (:func:`gantutor.checks.compare_d_step`), then again with every logit near +120 and near -120."""
    def body():
        compare_d_step(fn, _step_setup, _replay, [
            (dict(zero_grad=False), "gradients from an earlier step were not cleared: call opt_d.zero_grad() "
             "before loss.backward()"),
            (dict(swap=True), "real and fake labels are swapped: real images get label 1, fakes label 0"),
            (dict(joint=True), _JOINT),
            (dict(joint=True, pooled=1.0), _JOINT + "; and take one BCE mean per batch, then add the two"),
            (dict(joint=True, pooled=2.0), _JOINT + "; and take one BCE mean per batch, then add the two"),
            (dict(pooled=1.0), _POOLED),
            (dict(pooled=2.0), _POOLED),
            (dict(g_eval=True), "you made the fakes with G in eval mode (G.eval()): its batch norm then uses "
             "running statistics, not the batch's; leave G in training mode, as gantutor's Trainer does "
             "(torch.no_grad() alone keeps gradients out of G)"),
            (dict(scale=0.5), "the loss is the SUM of the two batch means; (real + fake) / 2 halves it, and "
             "with it the gradient: add the two terms"),
            (dict(fake_grad=False), "only the real term moved D: you computed D(fake) without gradients too; put "
             "only G(z) under torch.no_grad() (or detach the fakes) and call D on them with gradients"),
            (dict(late_zero=True), "you cleared the gradients after loss.backward(), so the step had none: call "
             "opt_d.zero_grad() BEFORE loss.backward(), then opt_d.step()"),
        ], "D's weights after your step differ from one optimiser step on the binary cross-entropy "
           "of D(x_real) (label 1) and D(G(z)) (label 0)")
        # The same step with logits near +LARGE_LOGIT, then near -LARGE_LOGIT: only a loss computed stably
        # from the logits is right there (any failure here is one: the step was right on ordinary logits;
        # nn.BCELoss's zero gradients there would otherwise read as "D's weights did not change").
        for shift in (LARGE_LOGIT, -LARGE_LOGIT):
            try:
                compare_d_step(fn, lambda: _step_setup(shift), lambda **kw: _replay(shift=shift, **kw), [], "")
            except _Fail:
                raise _Fail(f"wrong only when D's logits are near {shift:+g}: {STABILITY_HINT}; "
                            f"nn.BCELoss on sigmoid outputs fails there too") from None
    return _verdict("check_d_train_step", body)
