"""Checking functions for assignment 2 (conditional GAN), one PASS or FAIL line per check (see
:mod:`gantutor.checks.common`). Named wrong answers: G(z, y) or G's forward called instead of written,
labels ignored or one-hot instead of the embedding, embedding and noise in the wrong order, another
dtype, G's mode or gradients changed; a mismatched label sometimes right, always the same, one shift per
batch, K taken from the batch, dependent along the batch, the same at every call or not from torch's
seeded generator; the mismatched pairs scored as real, a missing third term, terms averaged or pooled,
logits clipped or changed in place, one batch of logits detached. A check never raises on a wrong answer.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .common import STABILITY_HINT, _call, _close, _Fail, _state, _verdict
from ..losses import d_conditional_bce
from ..models import MLPGenerator

__all__ = ["check_cgan_generator", "check_mismatched_labels", "check_three_term_loss"]


# ---- task 1: the conditioned generator's forward pass -----------------------------------------------------

def _generator_case():
    torch.manual_seed(0)
    G = MLPGenerator(8, (1, 4, 4), hidden=(16,), n_classes=10, embed_dim=10)
    z = torch.randn(6, 8, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 3, 3, 9, 5, 1])
    return G, z, y


def _as_tensor(out, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        extra = f" (no float() or .item(): {what} must stay differentiable)" if isinstance(out, float) else ""
        raise _Fail(f"return {what} as a torch.Tensor, not a {type(out).__name__}{extra}")
    return out


class _ForwardCalled(Exception):  # raised by the generator's disabled forward
    pass


def _call_without_forward(fn: Callable, G, *args):
    """Call ``fn(G, *args)`` with G(z, y), G.forward and the class's forward (``type(G).forward(G, z, y)``,
    ``MLPGenerator.forward(G, z, y)``) disabled: the task is to write the forward pass from G.embed and
    G.body, and the reference answer is G's forward itself, so calling it would pass."""
    called = []

    def disabled(*_args, **_kwargs):
        called.append(True)
        raise _ForwardCalled("G(z, y) is disabled in this check")

    owners = [k for k in type(G).__mro__ if "forward" in vars(k) and k is not torch.nn.Module]
    saved = [vars(k)["forward"] for k in owners]
    G.forward = disabled  # an instance attribute: nn.Module.__call__ looks it up on the instance
    for k in owners:      # and on the classes, for the unbound calls
        k.forward = disabled
    try:
        return _call(fn, G, *args)
    except _Fail:
        if called:
            raise _Fail("you called G(z, y) (or G.forward, or the class's forward); the task is to write the "
                        "forward pass yourself: look up G.embed(y), concatenate it after z and pass the result "
                        "through G.body") from None
        raise
    finally:
        del G.forward
        for k, f in zip(owners, saved):
            k.forward = f


def check_cgan_generator(fn: Callable) -> bool:
    """``fn(G, z, y)`` should return G.body(cat[z, G.embed(y)]) reshaped to [N, *G.out_shape], without
    calling G(z, y) (disabled during the check)."""
    def body():
        G, z, y = _generator_case()
        with torch.no_grad():
            want = G(z, y)
        modes = _state(G)[1]
        out = _as_tensor(_call_without_forward(fn, G, z, y), "the images")
        if out.shape != want.shape:
            hint = (f"reshape the output to [N, *G.out_shape] = {list(want.shape)}" if out.numel() == want.numel()
                    else f"expected shape {list(want.shape)}")
            raise _Fail(f"your output has shape {list(out.shape)}; {hint}")
        if out.dtype != want.dtype:
            raise _Fail(f"your images are {out.dtype}; G works in {want.dtype}: do not convert the output (or G)")
        if torch.allclose(out.detach(), want, atol=1e-5):
            _check_generator_grads(G, z, y, out, modes)
            return
        with torch.no_grad():
            other = _as_tensor(_call_without_forward(fn, G, z, (y + 4) % 10), "the images").detach()
            swapped = G.body(torch.cat([G.embed(y), z], 1)).view_as(want)
            one_hot = G.body(torch.cat([z, F.one_hot(y, 10).float()], 1)).view_as(want)
        if torch.allclose(other, out.detach(), atol=1e-6):
            raise _Fail("your output does not depend on the labels y: look up G.embed(y) and concatenate it "
                        "with z before G.body")
        if torch.allclose(out.detach(), swapped, atol=1e-5):
            raise _Fail("you concatenated [embedding, z]; G.body was built for [z, embedding] (noise first)")
        if torch.allclose(out.detach(), one_hot, atol=1e-5):
            raise _Fail("you concatenated the one-hot label; use the learned embedding G.embed(y)")
        raise _Fail("your output differs from G.body(torch.cat([z, G.embed(y)], 1)) reshaped to [N, *G.out_shape]")
    return _verdict("check_cgan_generator", body)


def _check_generator_grads(G, z, y, out, modes) -> None:
    """Right values: G's mode must be as it was, and every parameter's gradient that of G(z, y)."""
    if _state(G)[1] != modes:
        raise _Fail("right values, but you left G (or a layer) in eval or train mode: leave its mode as you found it")
    if not all(p.requires_grad for p in G.parameters()):
        raise _Fail("right values, but you switched off requires_grad of G's parameters: G could not be trained")
    if not out.requires_grad:
        raise _Fail("right values, but no gradient reaches G: do not use torch.no_grad(), .detach() or helpers "
                    "that run under no_grad (such as conditional.generate_from_embedding)")
    G.zero_grad(set_to_none=True)
    out.sum().backward()
    grads = {n: p.grad for n, p in G.named_parameters()}
    G.zero_grad(set_to_none=True)
    G(z, y).sum().backward()
    for n, p in G.named_parameters():
        if grads[n] is None or not bool(grads[n].abs().sum() > 0):
            raise _Fail("right values, but no gradient reaches the label embedding G.embed: do not detach the "
                        "embedding (or look it up under torch.no_grad()); it is learned with G"
                        if n.startswith("embed") else f"right values, but no gradient reaches G's {n}: do not "
                        f"detach G.body's weights or its input")
        if not torch.allclose(grads[n], p.grad, rtol=1e-4, atol=1e-6):
            raise _Fail(f"right values, but the gradient reaching G's {n} differs from that of G.body(torch.cat("
                        f"[z, G.embed(y)], 1)) (a rescaled or partly detached term?)")


# ---- task 2: mismatched labels -----------------------------------------------------------------------------

def _labels(out, y: torch.Tensor, K: int) -> torch.Tensor:
    out = _as_tensor(out, "the labels")
    if out.shape != y.shape:
        raise _Fail(f"return one label per input label: shape {list(y.shape)}, got {list(out.shape)}")
    if out.is_floating_point():
        raise _Fail(f"return integer labels (torch.long), got {out.dtype}")
    if int(out.min()) < 0 or int(out.max()) >= K:
        raise _Fail(f"labels must lie in [0, {K}), got values in [{int(out.min())}, {int(out.max())}]")
    return out.long()


def check_mismatched_labels(fn: Callable) -> bool:
    """``fn(y, n_classes)`` should return, for every label, a wrong label uniform over the other classes."""
    def body():
        for K, n in ((10, 10), (3, 3), (10, 3)):  # the last batch holds only classes 0-2 of 10
            y = torch.arange(n).repeat(3000)
            if n < K:  # shuffled, so that a pattern along the batch does not line up with the classes
                y = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(2024))]
            keep = y.clone()
            torch.manual_seed(0)
            out = _labels(_call(fn, y, K), keep, K)
            if not torch.equal(y, keep):
                raise _Fail("your function changed y in place; return a new tensor")
            if (out == keep).any():
                share = (out == keep).double().mean().item()
                raise _Fail(f"{100 * share:.0f}% of your labels equal the true label (n_classes={K}); a mismatched "
                            f"label must never be right: e.g. add a random shift in 1..K-1 modulo K")
            if n < K and int(out.max()) < n:
                raise _Fail(f"on a batch holding only classes 0-{n - 1} (n_classes={K}) your wrong labels never "
                            f"exceed {n - 1}: take K from n_classes, not from the labels in the batch")
            for c in range(n):
                counts = torch.bincount(out[keep == c], minlength=K).double() / 3000
                others = counts[torch.arange(K) != c]
                if (others > 0).sum() == 1:
                    _check_batch_shift(fn, y, K)
                    raise _Fail(f"each class always gets the same wrong label (n_classes={K}, class {c} -> "
                                f"{int(counts.argmax())}); D would learn to reject only that one confusion: draw "
                                f"the wrong label uniformly from the other K-1 classes")
                if (others - 1 / (K - 1)).abs().max() > 0.04:
                    raise _Fail(f"the wrong labels of class {c} are not uniform over the other {K - 1} classes "
                                f"(frequencies {[round(v, 2) for v in others.tolist()]}, n_classes={K})")
        _check_random_draw(fn)
        _check_independent(fn)
    return _verdict("check_mismatched_labels", body)


def _check_batch_shift(fn: Callable, y: torch.Tensor, K: int) -> None:
    """Each class got one wrong label in this call: if other calls give others, one shift (or mapping) was
    drawn per batch; D meets every confusion over training, but a batch's pairs are not independent."""
    first = _labels(_call(fn, y.clone(), K), y, K)
    for _ in range(3):
        if not torch.equal(_labels(_call(fn, y.clone(), K), y, K), first):
            raise _Fail(f"you drew one shift for the whole batch, or one mapping per class (n_classes={K}: in "
                        f"one call each class gets one wrong label), so its pairs are not independent: draw one "
                        f"shift per label (torch.randint(1, K, y.shape))")


def _check_random_draw(fn: Callable) -> None:
    """The labels must be random draws from torch's global generator: the same after the same
    torch.manual_seed, different at the next call and under another seed (a fixed pattern, or a private
    generator re-seeded at every call, passes the frequency tests but shows D the same pairs every epoch)."""
    y = torch.arange(10).repeat(50)
    draws = []
    for seed in (1, 1, None, 2):
        if seed is not None:
            torch.manual_seed(seed)
        draws.append(_labels(_call(fn, y.clone(), 10), y, 10))
    first, again, following, other_seed = draws
    if torch.equal(first, following):  # no reseed between the two calls
        raise _Fail("your wrong labels are the same at every call (a fixed pattern, a generator seeded in the "
                    "function, or the global state restored), so D sees each image with one wrong label only: "
                    "draw them with torch.randint")
    if not torch.equal(first, again) or torch.equal(first, other_seed):
        raise _Fail("your labels do not follow torch.manual_seed: draw them from torch's global random generator "
                    "(e.g. torch.randint), so that a seeded run is reproducible")


def _check_independent(fn: Callable) -> None:
    """On a batch of one class, neighbours must agree as often as independent draws do (1 / (K - 1)): one
    draw per batch spread along it, or draws shared by neighbours, pass the frequency tests, not this."""
    y = torch.zeros(3000, dtype=torch.long)
    torch.manual_seed(3)
    out = _labels(_call(fn, y.clone(), 10), y, 10)
    same = (out[1:] == out[:-1]).double().mean().item()
    if abs(same - 1 / 9) > 0.04:
        raise _Fail(f"your wrong labels depend on each other along the batch: on a batch of one class (n_classes=10) "
                    f"neighbours agree {100 * same:.0f}% of the time, 11% for independent draws: draw each label's "
                    f"wrong label independently (torch.randint(1, K, y.shape))")


# ---- task 3: the three-term discriminator loss -------------------------------------------------------------

def _three_cases():
    """Logits of a real batch of 64 (and the same 64 images with wrong labels) and a fake batch of 48: the
    unequal sizes catch one mean over the batches together, which equals the sum of the three means only
    when all three batches are equally large."""
    g = torch.Generator().manual_seed(0)
    r, f, m = (2 * torch.randn(n, generator=g) for n in (64, 48, 64))
    big = torch.tensor([120.0, 50.0])
    return [("moderate", (r, f, m)), ("[N, 1]", (r[:, None], f[:, None], m[:, None])),
            ("extreme", (-big, big, big))]


def _scalar(out) -> float:
    out = _as_tensor(out, "the loss")
    if out.numel() != 1:
        raise _Fail(f"return one number (a batch mean), got a tensor of shape {list(out.shape)}")
    return float(out)


POOLED = ("you took one mean over the batches together; that weights the terms by their batch sizes (right only "
          "when they are equal): take the mean of each term separately")


def _diagnose_three(got: float, r, f, m) -> str:
    sp = F.softplus
    wrong = [
        (sp(-r).mean() + sp(f).mean() + sp(-m).mean(), "you scored real images with a WRONG label as real; "
         "they are fake pairs for D: label them 0, softplus(mismatch_logits)"),
        (sp(-r).mean() + sp(f).mean(), "your loss ignores the third term: add the mean of "
         "softplus(mismatch_logits), real images with wrong labels scored as fake"),
        (sp(-r).mean() + 0.5 * (sp(f).mean() + sp(m).mean()), "you averaged the two fake terms; this "
         "assignment uses the sum of all three terms, each with weight 1"),
        (sp(r).mean() + sp(-f).mean() + sp(-m).mean(), "real and fake labels are swapped: real pairs are "
         "labelled 1 (softplus(-real_logits)), fake and mismatched pairs 0"),
        (-(sp(-r).mean() + sp(f).mean() + sp(m).mean()), "sign error: D minimises the cross-entropy, "
         "so every term is positive"),
        (sp(-r).sum() + sp(f).sum() + sp(m).sum(), "you summed over the batch; take the mean of each term"),
        (torch.cat([sp(-r), sp(f), sp(m)]).mean(), POOLED),
        (3 * torch.cat([sp(-r), sp(f), sp(m)]).mean(), POOLED),
        (sp(-r).mean() + 2 * torch.cat([sp(f), sp(m)]).mean(), POOLED),
        ((sp(-r).mean() + sp(f).mean() + sp(m).mean()) / 3, "you took the mean of the three terms (their sum "
         "divided by 3); the loss is their sum, each batch mean with weight 1"),
        (torch.cat([sp(-r), sp(m)]).mean() + sp(f).mean(), "you put the real and the mismatched pairs into one "
         "mean, which halves both terms: take the mean of each of the three terms separately and add them"),
        (torch.cat([sp(-r), sp(f)]).mean() + sp(m).mean(), POOLED),
        (torch.cat([sp(f), sp(m)]).mean() + sp(-r).mean(), POOLED),
    ]
    for value, message in wrong:
        if _close(got, float(value)):
            return message
    return "your loss differs from mean softplus(-real) + mean softplus(fake) + mean softplus(mismatch)"


def _clip_bound(fn: Callable, got: float, r, f, m):
    """The bound c if ``fn`` is the right loss of the logits clamped to [-c, c], else None. c is solved from
    ``got`` on the extreme logits (every term is softplus(c) for c <= 50, (softplus(c) + 50) / 2 below 120),
    then checked on logits on both sides of c (log(sigmoid(l) + eps) saturates too, but smoothly)."""
    if not 0 < got < float("inf"):
        return None
    x = torch.tensor(got / 3, dtype=torch.float64)
    for c in (float(x + torch.log(-torch.expm1(-x))), 2 * got / 3 - 50):  # softplus^-1(got / 3); 2 got / 3 - 50
        if 0 < c < 120:
            v = c * torch.tensor([0.5, 0.8, 0.95, 1.05, 1.5])
            try:
                probe = _scalar(_call(fn, -v, v, v.clone()))
            except _Fail:
                return None
            if _close(probe, float(d_conditional_bce(*(t.clamp(-c, c) for t in (-v, v, v)), 1.0))):
                return c
    return None


def check_three_term_loss(fn: Callable) -> bool:
    """``fn(real_logits, fake_logits, mismatch_logits)`` should return the three-term BCE loss of D."""
    def body():
        for name, (r, f, m) in _three_cases():
            want = float(d_conditional_bce(r, f, m, 1.0))
            kept = [(t.clone(), t.shape) for t in (r, f, m)]
            got = _scalar(_call(fn, r, f, m))
            if any(t.shape != shape or not torch.equal(t, c) for t, (c, shape) in zip((r, f, m), kept)):
                raise _Fail("your function changed the logits in place (squeeze_(), neg_(), ...), which the caller "
                            "still needs: use .flatten() or .view(-1) and -l instead")
            if _close(got, want):
                continue
            if name == "extreme":
                clip = _clip_bound(fn, got, r, f, m)
                if clip is not None:
                    raise _Fail(f"your loss is {got} for extreme logits (expected {want:.6g}): the logits were "
                                f"clipped to +-{clip:.3g}, which changes the loss and zeroes its gradient beyond the "
                                f"bound; F.softplus needs no clipping")
                raise _Fail(f"your loss is {got} for extreme logits (expected {want:.6g}): {STABILITY_HINT}; "
                            f"if you clamped the logits, don't")
            flat = (r.flatten(), f.flatten(), m.flatten())
            raise _Fail(_diagnose_three(got, *flat))
        _check_three_gradients(fn)
    return _verdict("check_three_term_loss", body)


DETACHED = {"real": "",
            "fake": "; D would never learn to reject generated pairs (detach G's output, not D's logits)",
            "mismatch": "; D would never learn to reject real images with wrong labels"}


def _check_three_gradients(fn: Callable) -> None:
    """The loss's gradient with respect to each batch of logits must be the reference's, e.g.
    d/df of mean softplus(f) = sigmoid(f) / len(f): a right value with one batch detached passes the
    value tests but gives D no training signal from that kind of pair."""
    inputs = [t.clone().requires_grad_(True) for t in _three_cases()[0][1]]
    out = _call(fn, *inputs)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise _Fail("right values, but the loss is not differentiable: compute it with torch operations "
                    "on the logits (no float(), .item() or numpy)")
    try:
        grads = torch.autograd.grad(out.sum(), inputs, allow_unused=True)
    except RuntimeError as e:
        raise _Fail(f"right values, but backpropagating through your loss failed: {e}") from None
    ref_inputs = [t.detach().clone().requires_grad_(True) for t in inputs]
    want = torch.autograd.grad(d_conditional_bce(*ref_inputs, 1.0), ref_inputs)
    for name, got, ref in zip(("real", "fake", "mismatch"), grads, want):
        if got is None or not bool(got.abs().sum() > 0):
            raise _Fail(f"right values, but no gradient reaches the {name} logits: do not detach them inside the "
                        f"loss{DETACHED[name]}")
        if got.shape != ref.shape or not torch.allclose(got, ref, rtol=1e-4, atol=1e-7):
            raise _Fail(f"right values, but the gradient with respect to the {name} logits differs from that of "
                        f"the loss mean softplus(-real) + mean softplus(fake) + mean softplus(mismatch)")
