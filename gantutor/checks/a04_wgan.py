"""Checking functions for assignment 4 (WGAN and WGAN-GP), in the verdict style of
:mod:`gantutor.checks`: each check runs the student's function on fixed, seeded inputs, prints exactly
ONE line and returns True or False:

    check_gradient_penalty: PASS
    check_gradient_penalty: FAIL - alpha is drawn per pixel: ...

The gradient-penalty check does not compare random numbers. It hands the student's function a critic
that records its inputs, reads the interpolates x_hat back, checks that each lies on the segment
between ITS real and fake sample (one alpha per sample, Gulrajani et al., 2017, Algorithm 1, line 6),
then recomputes the penalty at those very points and compares values and gradients with respect to the
critic's weights. Named wrong answers: alpha per pixel or per batch, a one-sided penalty, no
``create_graph=True`` (the penalty cannot be minimised), a per-pixel or per-channel norm of image
gradients (the image case has three channels, so a per-channel norm differs from the per-sample one),
the gradient of ``D(x_hat).mean()`` (each sample's gradient divided by the batch size), a missing
lambda, the squared norm, a sum instead of a mean, re-paired batches (x_hat between real[i] and some
other fake), alphas not uniform on [0, 1], interpolates that repeat between two calls with the same batches (fixed
alphas, or a ``torch.manual_seed`` inside the function); a critic loss that ignores its lam (checked again at lam = 3.7,
as the penalty is, each time at the interpolates read back, so students' alphas from numpy or an own
generator are fine, and several batches may be scored in one call), and a critic loss with the right value but a detached real, fake or penalty term
(its gradient with respect to the critic's weights is compared too). The critic loss gets real and fake batches of the
same size, as WGAN-GP pairs them (Algorithm 1): there ``mean(D(fake)) - mean(D(real))`` and
``mean(D(fake) - D(real))`` are the same number, and both are right.
"""
from __future__ import annotations

from typing import Callable, List

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import nn

from .common import _Fail, _call, _close, _state, _student_grad, _to_numpy, _verdict

__all__ = ["check_w1_sorted", "check_gradient_penalty", "check_critic_loss", "ProbeCritic"]

LAM = 10.0


def _w1_cases():
    """The check's pairs of samples. Their quantile functions cross (y is wider than x, with a slightly larger
    mean), so sort(y) - sort(x) changes sign and W1 exceeds |mean(x) - mean(y)|: every wrong answer that
    ``_w1_wrong_answers`` names differs from W1 (``tests/test_assignment_wgan.py`` pins this). Stochastically
    ordered samples would make W1 equal to the difference of the means."""
    rng = np.random.default_rng(2017)
    return [(rng.normal(0, 1, n), rng.normal(0.3, 2.0, n)) for n in (5, 200)]


def _w1_wrong_answers(x, y):
    """(value, message) for each wrong answer the check names, on samples x and y."""
    xs, ys = np.sort(x), np.sort(y)
    means = "the difference of the means (the mean of x - y, sorted or not, without an absolute value per " \
            "pair) is only a lower bound of W1: take |x_(i) - y_(i)| for each pair of sorted samples, then the mean"
    return [
        (np.mean(np.abs(x - y)), "you paired the samples in the order given; the optimal transport plan "
         "in 1D pairs the i-th smallest x with the i-th smallest y: sort both first"),
        (np.sqrt(np.mean((xs - ys) ** 2)), "that is W2 (root mean square); W1 is the mean ABSOLUTE "
         "difference of the sorted samples"),
        (np.mean((xs - ys) ** 2), "you squared the differences; W1 uses |x_(i) - y_(i)|"),
        (x.mean() - y.mean(), means),
        (y.mean() - x.mean(), means),
        (np.sum(np.abs(xs - ys)), "a sum; W1 is the MEAN of |x_(i) - y_(i)| (each sample has mass 1/n)"),
    ]


def check_w1_sorted(fn: Callable) -> bool:
    """``fn(x, y)`` should return the exact W1 between two equally many 1D samples (numpy arrays)."""
    def body():
        for x, y in _w1_cases():
            out = _call(fn, x.copy(), y.copy())
            if out is None:
                raise _Fail("your function returned None: did you forget the return statement?")
            arr = _to_numpy(out)
            if arr.size != 1:
                raise _Fail(f"return one number, not an array of shape {arr.shape}"
                            + (" (one value per pair: take the mean over the pairs)" if arr.size == len(x) else ""))
            value = float(arr.reshape(()))
            want = stats.wasserstein_distance(x, y)
            if _close(value, want, 1e-5, 1e-8):  # float32 arithmetic (about 7 digits) is a right answer
                continue
            for other, message in _w1_wrong_answers(x, y):
                if _close(value, float(other), 1e-5, 1e-8):
                    raise _Fail(message)
            raise _Fail(f"for {len(x)} samples your W1 is {value:.10g}, expected {want:.10g}")
    return _verdict("check_w1_sorted", body)


class ProbeCritic(nn.Module):
    """A small smooth critic with fixed weights that records every input it is called with.
    Its gradient norms spread around 1, so one-sided and two-sided penalties differ."""

    def __init__(self, in_features: int, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.l1, self.l2 = nn.Linear(in_features, 16), nn.Linear(16, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.6)
            self.l1.weight.mul_(0.5 * (5 / in_features) ** 0.5)  # norms between about 0.8 and 1.4
        self.inputs: List[torch.Tensor] = []

    def forward(self, x: torch.Tensor, *args) -> torch.Tensor:
        self.inputs.append(x)
        return self.l2(torch.tanh(self.l1(x.flatten(1))))[:, 0]

    def grad_at(self, x_hat: torch.Tensor) -> torch.Tensor:
        """grad_x f at x_hat (in the graph of the weights), shaped like x_hat."""
        x = x_hat.detach().requires_grad_(True)
        out = self.l2(torch.tanh(self.l1(x.flatten(1))))[:, 0]
        return torch.autograd.grad(out.sum(), x, create_graph=True)[0]


def _cases():
    gen = torch.Generator().manual_seed(4)
    # 2048 flat samples: enough alphas for the Kolmogorov-Smirnov test in _interpolates to reject
    # U[0.1, 0.9], sigmoid(N(0, 1)) or Beta(2, 2) (sup-distance about 0.1, critical value 0.05)
    flat = (torch.randn(2048, 5, generator=gen), torch.randn(2048, 5, generator=gen) + 1.0)
    image = (torch.rand(64, 3, 4, 4, generator=gen) * 2 - 1, torch.rand(64, 3, 4, 4, generator=gen) * 2 - 1)
    return [("flat samples [2048, 5]", *flat), ("images [64, 3, 4, 4]", *image)]


def _interpolates(D: ProbeCritic, real, fake) -> torch.Tensor:
    """The last block of N rows D saw that is neither real nor fake (N = len(real)); checks one alpha per sample
    in [0, 1]. An input that concatenates whole batches, e.g. ``torch.cat([real, fake, x_hat])``, is read
    block by block, so scoring several batches in one call is fine."""
    n = len(real)
    seen = [block for x in D.inputs if x.shape[1:] == real.shape[1:] and len(x) % n == 0
            for block in x.detach().split(n) if not torch.equal(block, real) and not torch.equal(block, fake)]
    if not seen:
        raise _Fail(f"the critic was never called on a batch of {n} interpolates (as many as real, shape "
                    f"{tuple(real.shape)}), x_hat = alpha real + (1 - alpha) fake with one alpha per pair: "
                    "use every pair, not a part of the batch")
    x_hat = seen[-1]
    d, e = (real - fake).flatten(1).double(), (x_hat - fake).flatten(1).double()
    alpha = (d * e).sum(1, keepdim=True) / (d * d).sum(1, keepdim=True)  # the best single alpha per sample
    if float((e - alpha * d).abs().max()) > 1e-4:
        ratio = e[d.abs() > 1e-6] / d[d.abs() > 1e-6]  # per-feature alphas: all in [0, 1] if drawn per pixel
        if float(ratio.min()) >= -1e-5 and float(ratio.max()) <= 1 + 1e-5:
            raise _Fail("alpha is drawn per pixel (per feature): then x_hat is not on the segment between a "
                        "real and a fake sample; draw ONE alpha per sample, shape [N, 1, ...], e.g. "
                        "torch.rand(N, *[1] * (real.ndim - 1)), and let it broadcast")
        raise _Fail("x_hat is not on the segment between real[i] and fake[i], nor in the box between them: "
                    "keep the pairing (do not shuffle or re-order either batch) and use "
                    "x_hat = alpha real + (1 - alpha) fake with one alpha per sample")
    if alpha.min() < -1e-5 or alpha.max() > 1 + 1e-5:
        raise _Fail("x_hat is not between the real and the fake samples: use alpha ~ U[0, 1] "
                    "(torch.rand) and x_hat = alpha real + (1 - alpha) fake")
    if float(alpha.max() - alpha.min()) < 1e-4 and min(float(alpha.mean()), 1 - float(alpha.mean())) < 1e-4:
        end = "real" if float(alpha.mean()) > 0.5 else "fake"
        raise _Fail(f"x_hat equals the {end} batch (alpha = {1 if end == 'real' else 0} for every sample): "
                    "use both batches, x_hat = alpha real + (1 - alpha) fake")
    if float(alpha.std()) < 1e-6:
        raise _Fail("one alpha for the whole batch: draw one alpha per sample, shape [N, 1, ...]")
    # independent U[0, 1] draws almost never lie within 1e-6 of each other (about n^2 1e-6 / 1 close
    # neighbours, 4 for n = 2048); alphas reused for several samples (rand(N // 2).repeat(2)) give n / 2
    ties = int((alpha.flatten().sort().values.diff() < 1e-6).sum())
    if ties > max(8, n // 20):
        raise _Fail(f"{ties} of your {n} alphas repeat another one: draw an independent alpha for each sample, "
                    "torch.rand(N, *[1] * (real.ndim - 1)), not a few reused ones")
    # alphas from U[0, 1]: a Kolmogorov-Smirnov test rejects 0/1 choices, a fixed 0.5 and, on the 2048 flat
    # samples, a narrow range U[0.1, 0.9], sigmoid(N(0, 1)), Beta(2, 2) (64 alphas are too few for those)
    if stats.kstest(alpha.flatten().clamp(0, 1).numpy(), "uniform").pvalue < 1e-4:
        raise _Fail("your alphas are not spread uniformly over [0, 1] (a Kolmogorov-Smirnov test rejects it): "
                    "draw alpha ~ U[0, 1] with torch.rand, so that x_hat covers the whole segment")
    return x_hat


def _call_clean(fn: Callable, D: ProbeCritic, real, fake, lam: float):
    """Call ``fn(D, real, fake, lam)`` on copies of the batches and fail if it changed them (values or
    requires_grad), D's weights, or D's requires_grad or train/eval mode: the caller reuses all of them."""
    weights, state = [p.detach().clone() for p in D.parameters()], _state(D)
    r, f = real.clone(), fake.clone()
    value = _call(fn, D, r, f, lam)
    for name, mine, given in (("real", real, r), ("fake", fake, f)):
        if not torch.equal(given.detach(), mine):
            raise _Fail(f"your function changed the caller's {name} batch in place (e.g. {name}.mul_(alpha)): "
                        f"build x_hat as a new tensor, alpha * real + (1 - alpha) * fake, and leave real and fake "
                        f"as they were (the critic loss still needs them)")
        if given.requires_grad:
            raise _Fail(f"your function switched on {name}.requires_grad_(True) and left it on: call "
                        "requires_grad_(True) on the new tensor x_hat, not on the caller's batch")
    if any(not torch.equal(p.detach(), w) for p, w in zip(D.parameters(), weights)):
        raise _Fail("your function changed the critic's weights: it should only compute a number from D")
    if _state(D) != state:
        raise _Fail("your function left the critic's requires_grad or train/eval mode switched (D.eval(), "
                    "D.requires_grad_(False) never undone): leave D as you found it")
    return value


def _penalty_body(fn: Callable):
    for label, real, fake in _cases():
        D = ProbeCritic(real[0].numel())
        torch.manual_seed(0)
        value = _call_clean(fn, D, real, fake, LAM)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise _Fail(f"return a scalar tensor (one number for the batch), got {type(value).__name__}"
                        + (f" of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else ""))
        x_hat = first_x_hat = _interpolates(D, real, fake)
        grad = D.grad_at(x_hat)
        norm = grad.flatten(1).norm(dim=1)
        want = LAM * ((norm - 1) ** 2).mean()
        got = float(value.detach())
        if not _close(got, float(want), 1e-4, 1e-6):
            _diagnose(got, grad, norm, label)
        if not value.requires_grad:
            raise _Fail("the value is right but it cannot be minimised: the penalty must stay in the graph of "
                        "the critic's weights; pass create_graph=True to torch.autograd.grad, and do not "
                        ".detach() or .item() the gradient or the result")
        params = list(D.parameters())
        got_g = _student_grad(value.reshape(()), params, allow_unused=True)
        want_g = torch.autograd.grad(want, params, allow_unused=True)  # the last bias does not enter grad_x
        zero = torch.zeros(())
        if any(not torch.allclose(zero if g is None else g, zero if w is None else w, rtol=1e-3, atol=1e-6)
               for g, w in zip(got_g, want_g)):
            raise _Fail("the value is right but its gradient with respect to the critic's weights is not: "
                        "do not detach the input gradient (create_graph=True, no .detach() or .data, and "
                        "leave the critic's requires_grad on)")
        # Another weight lambda. The student's alphas need not repeat (numpy, an own torch.Generator...):
        # read the new interpolates back and recompute the target at those points.
        D.inputs.clear()
        other = _call_clean(fn, D, real, fake, 3.7)
        if not isinstance(other, torch.Tensor) or other.numel() != 1:
            raise _Fail("return a scalar tensor (also for lam = 3.7)")
        x_hat = _interpolates(D, real, fake)
        if torch.equal(x_hat, first_x_hat):  # the global generator moved on between the two calls
            raise _Fail("two calls with the same batches used the same interpolates: draw fresh alphas at every "
                        "call (torch.rand), neither fixed ones (torch.linspace) nor after reseeding "
                        "(torch.manual_seed inside the function would repeat every other random draw in training)")
        base = ((D.grad_at(x_hat).flatten(1).norm(dim=1) - 1) ** 2).mean()
        got = float(other.detach())
        if not _close(got, 3.7 * float(base), 1e-4, 1e-6):
            if _close(got, LAM * float(base), 1e-4, 1e-6):
                raise _Fail("right for lam = 10 but not for lam = 3.7: multiply by the argument lam, do not "
                            "write the weight 10 into the function")
            raise _Fail(f"right for lam = 10 but not for lam = 3.7: your penalty is {got:.6g}, expected "
                        f"{3.7 * float(base):.6g} at the interpolates your function used")


def _diagnose(got: float, grad, norm, label: str) -> None:
    for other, message in [
        (LAM * (F.relu(norm - 1) ** 2).mean(), "one-sided penalty max(0, |grad| - 1)^2: WGAN-GP's penalty is "
         "TWO-sided, (|grad| - 1)^2, which also pulls norms below 1 up to 1"),
        (((norm - 1) ** 2).mean(), "the weight lambda is missing: return lam * mean((|grad| - 1)^2)"),
        (LAM * ((grad.flatten(1).pow(2).sum(1) - 1) ** 2).mean(), "you used the squared norm |grad|^2; "
         "penalise (|grad|_2 - 1)^2 with the Euclidean norm"),
        (LAM * (norm ** 2).mean(), "the penalty is (|grad| - 1)^2, not |grad|^2: it pushes the norm to 1, not 0"),
        (LAM * ((norm - 1) ** 2).sum(), "a sum over the batch; take the mean"),
        (LAM * (norm - 1).abs().mean(), "|(|grad| - 1)| without the square; the penalty is (|grad| - 1)^2"),
        (LAM * ((grad.norm() - 1) ** 2), "one norm of the whole batch's gradient; take the norm per sample "
         "(grad.flatten(1).norm(dim=1))"),
        (LAM * ((norm / len(norm) - 1) ** 2).mean(), "you differentiated D(x_hat).mean(): that divides each "
         "sample's gradient by the batch size. Differentiate D(x_hat).sum() (or pass grad_outputs=torch.ones_like)"),
    ]:
        if _close(got, float(other), 1e-4, 1e-6):
            raise _Fail(message)
    if grad.ndim > 2 and _close(got, float(LAM * ((grad.norm(dim=1) - 1) ** 2).mean()), 1e-4, 1e-6):
        raise _Fail("for images you took the norm over dim 1 only (the channels), a norm per pixel; "
                    "flatten each sample's gradient first: grad.flatten(1).norm(dim=1)")
    if grad.ndim > 2 and _close(got, float(LAM * ((grad.flatten(2).norm(dim=2) - 1) ** 2).mean()), 1e-4, 1e-6):
        raise _Fail("for images you took one norm per channel; the norm is over all of a sample's features: "
                    "grad.flatten(1).norm(dim=1)")
    want = float(LAM * ((norm - 1) ** 2).mean())
    raise _Fail(f"for {label} your penalty is {got:.6g}; at the interpolates your function used it should be "
                f"{want:.6g}")


def check_gradient_penalty(fn: Callable) -> bool:
    """``fn(D, real, fake, lam)`` should return lam * E[(|grad D(x_hat)|_2 - 1)^2] with
    x_hat = alpha real + (1 - alpha) fake, one alpha ~ U[0, 1] per sample (Gulrajani et al., eq. 3)."""
    return _verdict("check_gradient_penalty", lambda: _penalty_body(fn))


class _TrainCritic(nn.Module):
    """The trained critic: an nn.Module like ProbeCritic (students may call D.parameters(), D.train()...),
    one raw output per sample, shape [N]."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, *args) -> torch.Tensor:
        return self.net(x)[:, 0]


def _train_critic(loss_fn: Callable, steps: int = 300, seed: int = 0):
    """Train a small critic on p = N(0, 1) against q = N(1, 0.5^2) with the student's loss; return the
    estimate E_p f - E_q f on fresh samples, the exact W1 of those samples and the mean gradient norm
    at interpolates."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    D = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    with torch.no_grad():  # start flat: a two-sided penalty would lock in the sign of a random first slope
        D[-1].weight.zero_()
    critic = _TrainCritic(D)
    opt = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.9))
    for _ in range(steps):
        real, fake = torch.randn(128, 1, generator=gen), 1 + 0.5 * torch.randn(128, 1, generator=gen)
        loss = _call(loss_fn, critic, real, fake, LAM)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise _Fail("return a scalar tensor (also while training)")
        grads = _student_grad(loss.reshape(()), list(D.parameters()), allow_unused=True)
        for p, g in zip(D.parameters(), grads):  # as opt.zero_grad(); loss.backward()
            p.grad = g
        opt.step()
    real, fake = torch.randn(20_000, 1, generator=gen), 1 + 0.5 * torch.randn(20_000, 1, generator=gen)
    with torch.no_grad():
        estimate = float(critic(real).mean() - critic(fake).mean())
    alpha = torch.rand(20_000, 1, generator=gen)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    exact = stats.wasserstein_distance(real[:, 0].numpy(), fake[:, 0].numpy())
    return estimate, exact, float(g.abs().mean())


def _same_gradient(D: ProbeCritic, value: torch.Tensor, real, fake, penalty: torch.Tensor) -> None:
    """The right value is not enough: the critic must be trained by ALL of the loss. Compare the gradient of
    ``value`` with respect to D's weights with that of gap + penalty, and name a detached term."""
    if not value.requires_grad:
        raise _Fail("the value is right but it cannot be minimised: it does not depend on the critic's "
                    "weights (no .item(), .detach() or torch.no_grad() in the loss)")
    params = list(D.parameters())
    zero = torch.zeros(())

    def grads(loss, grad=torch.autograd.grad):
        gs = grad(loss.reshape(()), params, retain_graph=True, allow_unused=True)
        return [zero if g is None else g for g in gs]

    def same(a, b):
        return all(torch.allclose(x, y, rtol=1e-3, atol=1e-6) for x, y in zip(a, b))

    got = grads(value, _student_grad)
    d_fake, d_real = D(fake).mean(), D(real).mean()
    if same(got, grads(d_fake - d_real + penalty)):
        return
    for wrong, message in [
        (d_fake + penalty, "no gradient reaches D(real): the value is right, but the real term is detached "
         "(.item(), .detach() or torch.no_grad()), so the critic never raises D on the data"),
        (-d_real + penalty, "no gradient reaches D(fake): the value is right, but the fake term is detached "
         "(.item(), .detach() or torch.no_grad()), so the critic never lowers D on the fakes"),
        (d_fake - d_real, "no gradient reaches the penalty: the value is right, but the penalty is detached "
         "(create_graph=True, no .item() or .detach()), so it does not constrain the critic"),
    ]:
        if same(got, grads(wrong)):
            raise _Fail(message)
    raise _Fail("the value is right but its gradient with respect to the critic's weights is not that of "
                "E[D(fake)] - E[D(real)] + penalty: keep every term in the graph (no .item() or .detach())")


def check_critic_loss(fn: Callable) -> bool:
    """``fn(D, real, fake, lam)`` should return WGAN-GP's critic loss E[D(fake)] - E[D(real)] + the
    gradient penalty (Gulrajani et al., Algorithm 1, line 7); a critic trained with it on 1D Gaussians
    should estimate their exact W1 (Kantorovich-Rubinstein duality) within 10%: the soft penalty inflates the
    estimate by about the factor 1 + W1/(2 lam), some 5% for this pair (W1 about 1, lam = 10; chapter 4)."""
    def body():
        label, real, fake = _cases()[0]
        D = ProbeCritic(real[0].numel())
        torch.manual_seed(0)
        value = _call_clean(fn, D, real, fake, LAM)
        if not isinstance(value, torch.Tensor) or value.numel() != 1:
            raise _Fail("return a scalar tensor")
        with torch.no_grad():
            gap = D(fake).mean() - D(real).mean()
        got = float(value.detach())
        if _close(got, float(gap), 1e-4, 1e-6):
            raise _Fail("the gradient penalty is missing: add gradient_penalty(D, real, fake, lam)")
        x_hat = _interpolates(D, real, fake)
        penalty = LAM * ((D.grad_at(x_hat).flatten(1).norm(dim=1) - 1) ** 2).mean()
        if not _close(got, float(gap + penalty), 1e-4, 1e-6):
            for other, message in [
                (-gap + penalty, "sign error: the critic MINIMISES E[D(fake)] - E[D(real)] (+ penalty), i.e. it "
                 "maximises the estimate E[D(real)] - E[D(fake)]"),
                (gap - penalty, "the penalty is ADDED to the loss the critic minimises"),
            ]:
                if _close(got, float(other), 1e-4, 1e-6):
                    raise _Fail(message)
            raise _Fail(f"your critic loss is {got:.6g}, expected E[D(fake)] - E[D(real)] + penalty = "
                        f"{float(gap + penalty):.6g}")
        _same_gradient(D, value, real, fake, penalty)
        torch.manual_seed(0)  # another weight lambda: the loss must pass its argument lam on
        D.inputs.clear()
        other = _call_clean(fn, D, real, fake, 3.7)
        if not isinstance(other, torch.Tensor) or other.numel() != 1:
            raise _Fail("return a scalar tensor (also for lam = 3.7)")
        norm = D.grad_at(_interpolates(D, real, fake)).flatten(1).norm(dim=1)
        got, base = float(other.detach()), ((norm - 1) ** 2).mean()
        if not _close(got, float(gap + 3.7 * base), 1e-4, 1e-6):
            if _close(got, float(gap + LAM * base), 1e-4, 1e-6):
                raise _Fail("right for lam = 10 but not for lam = 3.7: your loss ignores its argument lam "
                            "(it relies on gradient_penalty's default or writes 10); pass lam on: "
                            "gradient_penalty(D, real, fake, lam)")
            raise _Fail(f"right for lam = 10 but not for lam = 3.7: your loss is {got:.6g}, expected "
                        f"{float(gap + 3.7 * base):.6g}; the penalty's weight is the argument lam")
        estimate, exact, grad_norm = _train_critic(fn)
        if not abs(estimate - exact) <= 0.1 * exact:
            raise _Fail(f"a critic trained with your loss estimates W1 = {estimate:.3f}, but the exact W1 is "
                        f"{exact:.3f} (mean |f'| at interpolates {grad_norm:.2f})")
    return _verdict("check_critic_loss", body)
