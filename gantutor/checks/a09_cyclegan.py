"""Checking functions for assignment 9 (CycleGAN, Zhu et al., 2017), in the verdict style of
:mod:`gantutor.checks`: each check runs the student's code on fixed, seeded inputs, prints exactly ONE
line and returns True or False.

Wrong answers named by the generator-loss check: identity terms swapped between G and F, the cycle in
the wrong direction (G(F(x)) for x), lambda on the adversarial terms, D_X judging G's output (the
source's D_X(G(y))), the identity weight lambda instead of lambda / 2, the identity terms left out,
LSGAN's 1/2 on the generator terms, BCE instead of least squares, patch scores averaged before the
square, a sum instead of a mean, a term detached from the generators' graph (right value, wrong
gradients), and a discriminator or generator left with requires_grad or train/eval mode switched. By the
history-buffer check: a buffer that returns only the new images, only stored ones, never updates,
grows past its size or never fills it, decides for a whole batch at once or takes exactly half of each
batch, or returns fakes still attached to the generator's graph.
"""
from __future__ import annotations

import random
from typing import Callable, Dict

import torch
import torch.nn.functional as Fn
from torch import nn

from .common import _Fail, _call, _close, _same_state, _state, _verdict

__all__ = ["check_generator_total_loss", "check_history_buffer", "reference_total_loss"]


def _nets():
    """Small seeded networks: G, F (different convolutions) and D_X, D_Y (patch scorers)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(9)
        G = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Tanh())
        F = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.Tanh())
        D_X = nn.Conv2d(3, 1, 4, 2, 1)
        D_Y = nn.Conv2d(3, 1, 4, 2, 1)
        for net in (G, F, D_X, D_Y):
            for p in net.parameters():
                p.data.normal_(0, 0.4)
        x = torch.rand(4, 3, 8, 8) * 2 - 1
        y = torch.rand(4, 3, 8, 8) * 2 - 1
    return G, F, D_X, D_Y, x, y


def _terms(G, F, D_X, D_Y, x, y) -> Dict[str, torch.Tensor]:
    def mse1(s):
        return ((s - 1) ** 2).mean()

    def l1(a, b):
        return (a - b).abs().mean()

    return dict(adv=mse1(D_Y(G(x))) + mse1(D_X(F(y))), cyc=l1(F(G(x)), x) + l1(G(F(y)), y),
                idt=l1(G(y), y) + l1(F(x), x),
                idt_swapped=l1(F(y), y) + l1(G(x), x),
                cyc_wrong=l1(G(F(x)), x) + l1(F(G(y)), y),
                adv_seed=mse1(D_Y(G(x))) + mse1(D_X(G(y))),
                adv_bce=Fn.binary_cross_entropy_with_logits(D_Y(G(x)), torch.ones_like(D_Y(G(x))))
                + Fn.binary_cross_entropy_with_logits(D_X(F(y)), torch.ones_like(D_X(F(y)))),
                adv_sum=((D_Y(G(x)) - 1) ** 2).sum() + ((D_X(F(y)) - 1) ** 2).sum(),
                cyc_sum=(F(G(x)) - x).abs().sum() + (G(F(y)) - y).abs().sum(),
                adv_pooled=mse1(D_Y(G(x)).mean((1, 2, 3))) + mse1(D_X(F(y)).mean((1, 2, 3))))


def reference_total_loss(G, F, D_X, D_Y, x, y, lam: float = 10.0) -> torch.Tensor:
    """E(D_Y(G(x)) - 1)^2 + E(D_X(F(y)) - 1)^2 + lam (E|F(G(x)) - x| + E|G(F(y)) - y|)
    + lam / 2 (E|G(y) - y| + E|F(x) - x|), every E a mean over all entries."""
    t = _terms(G, F, D_X, D_Y, x, y)
    return t["adv"] + lam * t["cyc"] + 0.5 * lam * t["idt"]


def check_generator_total_loss(fn: Callable) -> bool:
    """``fn(G, F, D_X, D_Y, x, y, lam)`` should return the generators' total CycleGAN loss (a scalar
    tensor that back-propagates into G and F), :func:`reference_total_loss`."""
    def body():
        for lam in (10.0, 4.0):
            G, F, D_X, D_Y, x, y = _nets()
            nets = dict(G=G, F=F, D_X=D_X, D_Y=D_Y)
            states = {name: _state(net) for name, net in nets.items()}
            out = _call(fn, G, F, D_X, D_Y, x, y, lam)
            for name, net in nets.items():  # e.g. D_X.requires_grad_(False) never undone: D_X could not train
                _same_state(name, net, states[name])
            if not isinstance(out, torch.Tensor) or out.numel() != 1:
                kind = type(out).__name__ if not isinstance(out, torch.Tensor) else f"a tensor of shape {list(out.shape)}"
                raise _Fail(f"return the total loss as a scalar torch.Tensor, got {kind}")
            if not out.requires_grad:
                raise _Fail("the loss does not depend on G and F through autograd (no .item(), no torch.no_grad())")
            got = float(out.detach())
            with torch.no_grad():
                t = {k: float(v) for k, v in _terms(G, F, D_X, D_Y, x, y).items()}
            want = t["adv"] + lam * t["cyc"] + 0.5 * lam * t["idt"]
            if _close(got, want):
                _check_gradients(out, G, F, lam)
                continue
            wrong = [
                (t["adv"] + lam * t["cyc"] + 0.5 * lam * t["idt_swapped"],
                 "the identity terms are swapped: G maps X to Y, so its identity term is |G(y) - y| (an image "
                 "already in its target domain), and F's is |F(x) - x|"),
                (t["adv"] + lam * t["cyc_wrong"] + 0.5 * lam * t["idt"],
                 "the cycle runs the wrong way: x goes through G first and comes back through F, F(G(x)) vs x; "
                 "y goes F then G, G(F(y)) vs y"),
                (lam * t["adv"] + t["cyc"] + 0.5 * t["idt"],
                 "lambda multiplies the cycle term (and lambda / 2 the identity term), not the adversarial terms"),
                (lam * t["adv"] + lam * t["cyc"] + 0.5 * lam * t["idt"],
                 "lambda is applied to the adversarial terms too: they have weight 1"),
                (t["adv_seed"] + lam * t["cyc"] + 0.5 * lam * t["idt"],
                 "D_X judges F's output: the second adversarial term is (D_X(F(y)) - 1)^2, not D_X(G(y)) "
                 "(a misprint in some write-ups)"),
                (t["adv"] + lam * t["cyc"] + lam * t["idt"],
                 "the identity term has weight lambda / 2 (0.5 lambda in the paper), not lambda"),
                (t["adv"] + lam * t["cyc"],
                 "the identity terms lambda / 2 (|G(y) - y| + |F(x) - x|) are missing"),
                (0.5 * t["adv"] + lam * t["cyc"] + 0.5 * lam * t["idt"],
                 "the adversarial terms have a factor 1/2: the paper's code uses the mean of (D(.) - 1)^2 "
                 "without it"),
                (t["adv_bce"] + lam * t["cyc"] + 0.5 * lam * t["idt"],
                 "that is the binary cross-entropy; CycleGAN's adversarial terms are least squares, "
                 "mean (D(fake) - 1)^2"),
                (t["adv_pooled"] + lam * t["cyc"] + 0.5 * lam * t["idt"],
                 "the patch scores are averaged before the square: (mean D(fake) - 1)^2 judges the image as a "
                 "whole; square each patch's (D(fake) - 1) first, then take the mean over patches and images"),
                (t["adv_sum"] + lam * t["cyc_sum"] + 0.5 * lam * t["idt"],
                 "sums instead of means: take every term as a mean over all entries"),
            ]
            for value, message in wrong:
                if _close(got, value):
                    raise _Fail(message)
            raise _Fail(f"for lam = {lam:g} your loss is {got:.6g}, the total CycleGAN generator loss is {want:.6g}")
    return _verdict("check_generator_total_loss", body)


def _check_gradients(out: torch.Tensor, G: nn.Module, F: nn.Module, lam: float) -> None:
    """The student's loss must send the same gradients into G and F as the reference (no term detached)."""
    G.zero_grad(), F.zero_grad()
    out.backward()
    got = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in [*G.parameters(), *F.parameters()]]
    G2, F2, D_X2, D_Y2, x2, y2 = _nets()
    reference_total_loss(G2, F2, D_X2, D_Y2, x2, y2, lam).backward()
    want = [p.grad for p in [*G2.parameters(), *F2.parameters()]]
    if not all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(got, want)):
        raise _Fail("the value is right but the gradients into G and F are not: no term may be detached or "
                    "computed under torch.no_grad() (the cycle terms train G through F(G(x)) too)")


def _img(i: int, requires_grad: bool = False) -> torch.Tensor:
    """An image whose every pixel is its id i (so a returned image tells where it came from)."""
    return torch.full((1, 2, 2), float(i), requires_grad=requires_grad)


def check_history_buffer(cls: Callable) -> bool:
    """``cls(size)`` should make a buffer whose ``query(images)`` returns a batch of the same shape and
    keeps up to ``size`` earlier images in the list attribute ``images``: while it is not full each new
    image is stored and returned; once full, each new image is returned with probability 1/2, otherwise a
    random stored image is returned and the new one takes its place. Returned images are detached."""
    def body():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            random.seed(0)
            buffer = _call(cls, 5)
            first = torch.stack([_img(i) for i in range(4)])
            out = _call(buffer.query, first)
            if not isinstance(out, torch.Tensor) or out.shape != first.shape:
                raise _Fail(f"query must return a tensor of the batch's shape {list(first.shape)}, got "
                            f"{list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
            if not isinstance(getattr(buffer, "images", None), list):
                raise _Fail("keep the stored images in a list attribute self.images")
            if not torch.equal(out, first) or len(buffer.images) != 4:
                raise _Fail("while the buffer is not full, store each new image and return it unchanged")
            grad = torch.stack([_img(4 + i, True) for i in range(2)])
            out = _call(buffer.query, grad * 1.0)
            if len(buffer.images) > 5:
                raise _Fail(f"the buffer grew to {len(buffer.images)} images; it holds at most size = 5 (store "
                            f"new images only while there is room, one by one)")
            if len(buffer.images) != 5:
                raise _Fail(f"after 6 images the buffer holds {len(buffer.images)}; it should fill up to size = 5 "
                            f"(store each new image while len(self.images) < size)")
            if out.requires_grad or any(im.requires_grad for im in buffer.images):
                raise _Fail("detach the images (the discriminator's step must not back-propagate into the "
                            "generator through the buffer)")
            new_ids = 100 + torch.arange(600)
            returned, seen_stored, mixed, halves = [], set(), 0, 0
            for start in range(0, 600, 20):
                stored_before = {int(im.flatten()[0]) for im in buffer.images}
                batch = torch.stack([_img(int(i)) for i in new_ids[start:start + 20]])
                out = _call(buffer.query, batch)
                ids = out.flatten(1)[:, 0].round().long().tolist()
                if len(buffer.images) > 5:
                    raise _Fail(f"the buffer grew to {len(buffer.images)} images; it holds at most size = 5")
                for j, k in enumerate(ids):
                    if k != int(new_ids[start + j]):
                        if k not in stored_before and k < 100 + start:
                            raise _Fail("an image you returned was neither the new one nor in the buffer")
                        seen_stored.add(k)
                fresh = [k == int(new_ids[start + j]) for j, k in enumerate(ids)]
                mixed += 0 < sum(fresh) < len(fresh)
                halves += sum(fresh) == len(fresh) // 2
                returned += fresh
            share_new = sum(returned) / len(returned)
            stored = {int(im.flatten()[0]) for im in buffer.images}
            if share_new == 1.0 and stored <= set(range(6)):
                raise _Fail("the buffer returns only the new images and never updates: it has no effect")
            if share_new == 1.0:
                raise _Fail("the buffer returns only the new images: half the time it should return a stored one")
            if stored <= set(range(6)):
                raise _Fail("the buffer never updates once full: put the new image in the place of the one "
                            "returned, so the history keeps moving")
            if share_new == 0.0:
                raise _Fail("once full the buffer never returns the new image: with probability 1/2 it should")
            if mixed == 0:
                raise _Fail("each batch came back all new or all stored: draw the coin for each image, not "
                            "once for the whole batch")
            if halves == 600 // 20:  # 30 batches of 20 fair coins all giving exactly 10: p = 0.176**30
                raise _Fail("every batch came back exactly half new, half stored: draw an independent coin for each "
                            "image (probability 1/2), not a fixed half of each batch")
            if not 0.42 < share_new < 0.58:  # 600 fair coins: 50% +- 2 points (1 sd); this band is +- 4 sd
                raise _Fail(f"{100 * share_new:.0f}% of the returned images were new; expected about 50%")
            if len(seen_stored) < 50:
                raise _Fail("the stored images returned come from too few positions: pick one uniformly at random")
            _check_slot_replacement(buffer)
    return _verdict("check_history_buffer", body)


def _ids(images) -> list:
    return [int(im.flatten()[0]) for im in images]


def _check_slot_replacement(buffer) -> None:
    """One image per query on the full buffer: a returned stored image leaves, and the new image takes
    exactly its slot (nothing else moves); over many queries every slot is returned at some point."""
    slots_returned = set()
    for n in range(1000, 1300):
        before = _ids(buffer.images)
        out = _call(buffer.query, _img(n)[None])
        k = int(out.flatten()[0].round())
        after = _ids(buffer.images)
        if k == n:
            if after != before:
                raise _Fail("when the new image is returned the buffer must stay as it was")
            continue
        if k not in before:
            raise _Fail("an image you returned was neither the new one nor in the buffer")
        slot = before.index(k)
        slots_returned.add(slot)
        if k in after:
            raise _Fail("the stored image you returned is still in the buffer: the new image must take the place "
                        "of the one returned (the same index), not of another one")
        if after != before[:slot] + [n] + before[slot + 1:]:
            raise _Fail("the new image must go into the slot of the image returned (images[i] = new), not be "
                        "appended after removing another one")
    if not slots_returned:
        raise _Fail("with one image per query the buffer never returned a stored one: draw the coin for each "
                    "image (probability 1/2), so a batch of one is also swapped half the time")
    if len(slots_returned) < len(buffer.images):
        raise _Fail(f"only slots {sorted(slots_returned)} of {len(buffer.images)} were ever returned: draw the "
                    f"index uniformly from all of them (random.randrange(size), torch.randint(0, size, ()))")
