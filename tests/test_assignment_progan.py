"""Assignment 7 (ProGAN): nbval passes on the solution and fails on wrong answers (pixel norm over the
batch axis; He's constant from fan_out; tanh wrapped around the blend); the checks of gantutor.checks.a07_progan
pass the right answers and name every listed wrong answer, and give a generic FAIL for plausible wrong
answers they do not name."""
from __future__ import annotations

import math

import nbformat
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gantutor.checks import a07_progan as checks

import nbhelpers as nb

SOLUTION = nb.FOLDER / "a07_progan_solution.ipynb"
STUDENT = nb.FOLDER / "a07_progan.ipynb"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("assignment_progan")
    batch = nb.solution_with(SOLUTION, tmp / "batch", "t1-code", "mean(dim=1, keepdim=True)", "mean(dim=0, keepdim=True)")
    fan_out = nb.solution_with(SOLUTION, tmp / "fan_out", "t2-code", "(in_channels * kernel_size * kernel_size)",
                               "(out_channels * kernel_size * kernel_size)")
    after = nb.solution_with(SOLUTION, tmp / "after", "t3-code",
                             "return alpha * new_rgb + (1 - alpha) * old_up",
                             "return torch.tanh(alpha * new_rgb + (1 - alpha) * old_up)")
    runs = nb.NbvalRuns({"solution": nb.start_nbval(SOLUTION), "batch": nb.start_nbval(batch),
                         "fan_out": nb.start_nbval(fan_out), "after": nb.start_nbval(after)})
    yield runs
    runs.close()


def test_nbval_passes_on_the_solution(runs):
    rc, out, err = runs("solution")
    assert rc == 0, out[-4000:] + err[-2000:]


@pytest.mark.parametrize("name,message", [
    ("batch", "check_pixel_norm: FAIL - you normalised over the batch axis"),
    ("fan_out", "check_equalized_conv: FAIL - you used fan_out"),
    ("after", "check_fade_in_output: FAIL - you applied tanh after the blend"),
])
def test_nbval_fails_on_wrong_answers(runs, name, message):
    rc, out, _ = runs(name)
    assert rc != 0 and "1 failed" in out
    assert message in out


def test_student_version_is_generated_and_hides_answers():
    text = STUDENT.read_text(encoding="utf8")
    assert "BEGIN SOLUTION" not in text and "Instructor notes" not in text
    assert "keepdim=True) + 1e-8" not in text and "F.conv2d(x, self.weight" not in text
    student = nbformat.read(STUDENT, as_version=4)
    cells = [c for c in student.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(cells) == 3 and all(not c.outputs and c.execution_count is None for c in cells)  # no PASS under a stub
    assert "raise NotImplementedError" in text
    result = nb.run([nb.MAKE_STUDENT, "--check"], cwd=nb.ROOT)
    assert "a07_progan" not in result.stderr


# ---- the check functions directly -------------------------------------------------------------------

def _pn(dims=(1,), square=True, mean=True, root=True):
    def fn(a):
        v = a.pow(2) if square else a
        s = v.mean(dims, keepdim=True) if mean else v.sum(dims, keepdim=True)
        return a / (torch.sqrt(s + 1e-8) if root else s + 1e-8)
    return fn


def test_pixel_norm_check_passes_right_answers(capsys):
    assert checks.check_pixel_norm(_pn())
    assert checks.check_pixel_norm(lambda a: a * torch.rsqrt(a.square().mean(1, keepdim=True) + 1e-8))
    assert checks.check_pixel_norm(lambda a: F.normalize(a, dim=1, eps=1e-12) * math.sqrt(a.shape[1]))
    # written differently: eps as a clamp of the mean square, and an explicit channel loop
    assert checks.check_pixel_norm(lambda a: a / a.pow(2).mean(1, keepdim=True).clamp_min(1e-8).sqrt())
    assert checks.check_pixel_norm(
        lambda a: a / torch.sqrt(sum(a[:, j:j + 1] ** 2 for j in range(a.shape[1])) / a.shape[1] + 1e-8))
    assert capsys.readouterr().out.count(": PASS\n") == 5


@pytest.mark.parametrize("fn,message", [
    (_pn(dims=(0,)), "over the batch axis"),
    (_pn(dims=(2, 3)), "over the spatial axes"),
    (_pn(dims=(1, 2, 3)), "channels AND pixels"),
    (_pn(square=False), "the square is missing"),
    (_pn(square=False, mean=False), "the square is missing"),
    (_pn(mean=False), "unit LENGTH"),
    (_pn(root=False), "the square root is missing"),
    (lambda a: a.sum(1), "shape"),
    # the referee's gaps (ch7 report, finding 11): the seed's C + 1 terms, and no eps at all
    (lambda a: a / torch.sqrt(a.pow(2).sum(1, keepdim=True) / (a.shape[1] + 1) + 1e-8), "over C + 1 terms"),
    (lambda a: a / torch.sqrt(a.sum(1, keepdim=True) / (a.shape[1] + 1) + 1e-8), "over C + 1 terms"),
    (lambda a: a / torch.sqrt(a.pow(2).mean(1, keepdim=True)), "all zero"),
    (lambda a: a * torch.rsqrt(a.square().mean(1, keepdim=True)), "all zero"),
    # plausible and not named: centring the channels first (a layer/instance-norm habit)
    (lambda a: (a - a.mean(1, keepdim=True)) / torch.sqrt(a.var(1, keepdim=True, unbiased=False) + 1e-8),
     "your output differs from"),
])
def test_pixel_norm_check_names_wrong_answers(fn, message, capsys):
    assert not checks.check_pixel_norm(fn)
    out = capsys.readouterr().out
    assert out.startswith("check_pixel_norm: FAIL") and message in out


class _Conv(nn.Module):
    def __init__(self, c_in, c_out, k, fan="in", init_scaled=False, pad=True, op="mul", gain=2.0):
        super().__init__()
        fan_n = {"in": c_in * k * k, "out": c_out * k * k, "channels": c_in}[fan]
        self.c = math.sqrt(gain / fan_n)
        self.weight = nn.Parameter(torch.randn(c_out, c_in, k, k) * (self.c if init_scaled else 1.0))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.pad, self.op, self.init_scaled = (k // 2 if pad else 0), op, init_scaled

    def forward(self, x):
        scale = {"mul": self.c, "div": 1 / self.c, "noroot": self.c ** 2, "none": 1.0}[self.op]
        return F.conv2d(x, self.weight * (1.0 if self.init_scaled else scale), self.bias, padding=self.pad)


def test_equalized_conv_check_passes_the_library_layer(capsys):
    from gantutor.layers.progressive import EqualizedConv2d

    assert checks.check_equalized_conv(lambda i, o, k: EqualizedConv2d(i, o, k))
    assert checks.check_equalized_conv(_Conv)
    assert capsys.readouterr().out.count(": PASS\n") == 2


@pytest.mark.parametrize("kwargs,message", [
    (dict(fan="out"), "you used fan_out"),
    (dict(fan="channels"), "must count the kernel too"),
    (dict(init_scaled=True), "you scaled them at initialisation"),
    (dict(op="div"), "you divided by sqrt(2 / fan_in)"),
    (dict(op="noroot"), "the square root is missing"),
    (dict(op="none"), "the weights are used unscaled"),
    (dict(pad=False), "pad by k // 2"),
    # plausible and not named: gain 1 instead of sqrt(2) (the toRGB layers' constant, misapplied)
    (dict(gain=1.0), "your forward differs from"),
])
def test_equalized_conv_check_names_wrong_answers(kwargs, message, capsys):
    assert not checks.check_equalized_conv(lambda i, o, k: _Conv(i, o, k, **kwargs))
    out = capsys.readouterr().out
    assert out.startswith("check_equalized_conv: FAIL") and message in out


def _fade(swap=False, act=None, inside=False, mode="nearest"):
    """A fade-in: right by default; alpha swapped; ``act`` (e.g. tanh) around the blend, or ``inside``
    applied to each image before it; bilinear upsampling."""
    def fn(alpha, new, old):
        up = F.interpolate(old, scale_factor=2, mode=mode) if mode == "nearest" else \
            F.interpolate(old, scale_factor=2, mode=mode, align_corners=False)
        a = 1 - alpha if swap else alpha
        if inside:
            return a * act(new) + (1 - a) * act(up)
        out = a * new + (1 - a) * up
        return act(out) if act is not None else out
    return fn


def test_fade_check_passes_right_answers(capsys):
    assert checks.check_fade_in_output(_fade())
    assert checks.check_fade_in_output(lambda a, n, o: torch.lerp(o.repeat_interleave(2, -1).repeat_interleave(2, -2),
                                                                  n, a))
    assert capsys.readouterr().out.count(": PASS\n") == 2


def test_the_right_fade_is_the_real_images_blend():
    """The check's right answer is layers.progressive.blend_real's operation, and the model's."""
    from gantutor.layers.progressive import blend_real
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    assert torch.allclose(_fade()(0.3, x, F.avg_pool2d(x, 2)), blend_real(x, 0.3), atol=1e-6)


@pytest.mark.parametrize("fn,message", [
    (_fade(swap=True), "alpha is applied the wrong way round"),
    (_fade(act=torch.tanh), "you applied tanh after the blend: ProGAN's generator has no output activation"),
    (_fade(act=torch.tanh, swap=True), "tanh after the blend (the generator has no output activation), and alpha "
                                       "is the wrong way round"),
    (_fade(act=torch.tanh, inside=True), "through tanh before blending"),
    (_fade(mode="bilinear"), "not bilinear"),
    (_fade(act=lambda t: t.clamp(-1, 1)), "you clamped the blend"),
    (lambda a, n, o: a * n + (1 - a) * o, "must match the size"),  # no upsampling: torch says why
    # plausible and not named: average-pooling the new image down instead of upsampling the old one
    (lambda a, n, o: F.interpolate(a * F.avg_pool2d(n, 2) + (1 - a) * o, scale_factor=2),
     "your output differs from"),
    # plausible and not named: a sigmoid-shaped activation around the blend
    (_fade(act=torch.sigmoid), "your output differs from"),
])
def test_fade_check_names_wrong_answers(fn, message, capsys):
    assert not checks.check_fade_in_output(fn)
    out = capsys.readouterr().out
    assert out.startswith("check_fade_in_output: FAIL") and message in out


def test_blank_answers_say_not_implemented(capsys):
    def blank(*args):
        raise NotImplementedError("not implemented yet")

    assert not checks.check_pixel_norm(blank)
    assert not checks.check_equalized_conv(blank)
    assert not checks.check_fade_in_output(blank)
    out = capsys.readouterr().out
    assert out.count("not implemented yet") == 3 and out.count("\n") == 3


def test_equalized_conv_check_rejects_what_one_forward_cannot_see(capsys):
    """A referee's wrong answers that passed: a plain tensor weight, padding fixed at 1, scaling the stored
    weight in place, and a detached weight; the right answer still passes."""
    import math

    import torch.nn.functional as F
    from torch import nn

    from gantutor.checks import a07_progan as ch

    class Base(nn.Module):
        def __init__(self, i, o, k):
            super().__init__()
            self.weight, self.bias = nn.Parameter(torch.randn(o, i, k, k)), nn.Parameter(torch.zeros(o))
            self.c, self.k = math.sqrt(2 / (i * k * k)), k

        def forward(self, x):
            return F.conv2d(x, self.weight * self.c, self.bias, padding=self.k // 2)

    class Plain(Base):
        def __init__(self, i, o, k):
            super().__init__(i, o, k)
            w = self.weight.detach().clone()
            del self.weight
            self.weight = w

    class Pad1(Base):
        def forward(self, x):
            return F.conv2d(x, self.weight * self.c, self.bias, padding=1)

    class InPlace(Base):
        def forward(self, x):
            with torch.no_grad():
                self.weight.mul_(self.c)
            return F.conv2d(x, self.weight, self.bias, padding=self.k // 2)

    class Detached(Base):
        def forward(self, x):
            return F.conv2d(x, self.weight.detach() * self.c, self.bias, padding=self.k // 2)

    assert ch.check_equalized_conv(Base)
    for cls, message in ((Plain, "nn.Parameter"), (Pad1, "1x1 kernel"), (InPlace, "in place"),
                         (Detached, "no gradient")):
        capsys.readouterr()
        assert not ch.check_equalized_conv(cls), cls.__name__
        assert message in capsys.readouterr().out, cls.__name__


# ---- the referee's wrong answers that passed a forward-only check (gradients, inputs, parameters) ----

def _pn_no_grad(a):
    with torch.no_grad():
        d = torch.sqrt(a.pow(2).mean(1, keepdim=True) + 1e-8)
    return a / d


@pytest.mark.parametrize("fn,message", [
    (_pn_no_grad, "its gradient is not"),
    (lambda a: a / torch.sqrt(a.pow(2).mean(1, keepdim=True) + 1e-8).detach(), "its gradient is not"),
    (lambda a: a.div_(torch.sqrt(a.pow(2).mean(1, keepdim=True) + 1e-8)), "changed its input"),
])
def test_pixel_norm_check_sees_gradient_and_input(fn, message, capsys):
    assert not checks.check_pixel_norm(fn)
    out = capsys.readouterr().out
    assert out.startswith("check_pixel_norm: FAIL") and message in out


def test_pixel_norm_reference_gradient_is_the_formulas():
    """The check's reference gradient, against the hand-derived one: for y = a / d, d = sqrt(mean_c a^2 + eps),
    dL/da = r / d - a * sum_c(r a) / (C d^3)."""
    a = torch.randn(2, 5, 3, 3, dtype=torch.float64, requires_grad=True)
    r = torch.randn(2, 5, 3, 3, dtype=torch.float64)
    d = torch.sqrt(a.pow(2).mean(1, keepdim=True) + 1e-8)
    (a / d * r).sum().backward()
    by_hand = r / d - a * (r * a).sum(1, keepdim=True) / (5 * d ** 3)
    assert torch.allclose(a.grad, by_hand.detach(), rtol=1e-10, atol=1e-12)


def _fade_no_grad_up(alpha, new, old):
    with torch.no_grad():
        up = F.interpolate(old, scale_factor=2, mode="nearest")
    return alpha * new + (1 - alpha) * up


@pytest.mark.parametrize("fn,message", [
    (_fade_no_grad_up, "the gradient with respect to old_rgb"),
    (lambda a, n, o: a * n.detach() + (1 - a) * F.interpolate(o, scale_factor=2), "the gradient with respect to new_rgb"),
    (lambda a, n, o: (a * n + (1 - a) * F.interpolate(o, scale_factor=2)).detach(), "no gradient flows"),
])
def test_fade_check_sees_cut_gradients(fn, message, capsys):
    assert not checks.check_fade_in_output(fn)
    out = capsys.readouterr().out
    assert out.startswith("check_fade_in_output: FAIL") and message in out


def test_fade_gradient_weights_are_alpha_and_four_times_one_minus_alpha():
    new = torch.randn(1, 1, 4, 4, requires_grad=True)
    old = torch.randn(1, 1, 2, 2, requires_grad=True)
    _fade()(0.3, new, old).sum().backward()
    assert torch.allclose(new.grad, torch.full_like(new, 0.3)) and torch.allclose(old.grad, torch.full_like(old, 2.8))


class _TrainableScale(_Conv):
    def __init__(self, i, o, k):
        super().__init__(i, o, k)
        self.scale = nn.Parameter(torch.tensor(self.c))

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)


class _Uniform(_Conv):
    def __init__(self, i, o, k):
        super().__init__(i, o, k)
        with torch.no_grad():
            self.weight.uniform_(-math.sqrt(3), math.sqrt(3))   # std 1, not normal


@pytest.mark.parametrize("cls,message", [
    (_TrainableScale, "trainable parameters besides weight and bias: scale"),
    (_Uniform, "kurtosis"),
])
def test_equalized_conv_check_rejects_trainable_scale_and_uniform_weights(cls, message, capsys):
    assert not checks.check_equalized_conv(cls)
    out = capsys.readouterr().out
    assert out.startswith("check_equalized_conv: FAIL") and message in out


def test_equalized_conv_check_accepts_a_buffer_scale(capsys):
    class Buffered(_Conv):
        def __init__(self, i, o, k):
            super().__init__(i, o, k)
            self.register_buffer("scale", torch.tensor(self.c))

        def forward(self, x):
            return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)

    assert checks.check_equalized_conv(Buffered)
    assert capsys.readouterr().out == "check_equalized_conv: PASS\n"


# ---- referee ch7 (third round), findings 8 and 9 ------------------------------------------------------

def _fade_in_place(alpha, new, old):
    return new.mul_(alpha).add_((1 - alpha) * F.interpolate(old, scale_factor=2))


@pytest.mark.parametrize("fn,message", [
    (_fade_in_place, "changed its input new_rgb in place"),   # the referee's answer: right values, in place
    (lambda a, n, o: a * n + F.interpolate(o.mul_(1 - a), scale_factor=2), "changed its input old_rgb in place"),
])
def test_fade_check_names_an_in_place_blend(fn, message, capsys):
    assert not checks.check_fade_in_output(fn)
    out = capsys.readouterr().out
    assert out.startswith("check_fade_in_output: FAIL") and message in out


def test_fade_check_passes_right_answers_written_differently(capsys):
    assert checks.check_fade_in_output(lambda a, n, o: torch.add(a * n, F.interpolate(o, scale_factor=2,
                                                                                      mode="nearest-exact"),
                                                                 alpha=1 - a))
    assert checks.check_fade_in_output(lambda a, n, o: n.clone().mul_(a).add_((1 - a) * F.interpolate(o, scale_factor=2)))
    assert capsys.readouterr().out.count(": PASS\n") == 2


class _Rescaled(_Conv):
    """N(0, s^2) stored weights: the forward check copies its own weights in, so only the std sees them."""
    scale = 1.0

    def __init__(self, i, o, k):
        super().__init__(i, o, k)
        with torch.no_grad():
            self.weight.mul_(self.scale)


@pytest.mark.parametrize("scale", [0.8, 1.2])
def test_equalized_conv_check_rejects_rescaled_normal_weights(scale, capsys):
    cls = type("R", (_Rescaled,), {"scale": scale})
    assert not checks.check_equalized_conv(cls)
    out = capsys.readouterr().out
    assert out.startswith("check_equalized_conv: FAIL") and "not about 1" in out


def test_equalized_conv_std_window_keeps_right_answers_written_differently(capsys):
    """With the check's seed (3), N(0, 1) drawn in other ways stays within 0.15 of std 1."""
    class Sub(nn.Conv2d):            # nn.Conv2d's own init draws first, then N(0, 1)
        def __init__(self, i, o, k):
            super().__init__(i, o, k, padding=k // 2)
            nn.init.normal_(self.weight), nn.init.zeros_(self.bias)
            self.c = math.sqrt(2 / (i * k * k))

        def forward(self, x):
            return F.conv2d(x, self.weight * self.c, self.bias, padding=self.padding)

    class Trunc(_Conv):              # a truncated normal on [-3, 3], and a float64 draw
        def __init__(self, i, o, k):
            super().__init__(i, o, k)
            with torch.no_grad():
                nn.init.trunc_normal_(self.weight, a=-3.0, b=3.0)

    class Double(_Conv):
        def __init__(self, i, o, k):
            super().__init__(i, o, k)
            with torch.no_grad():
                self.weight.copy_(torch.randn(o, i, k, k, dtype=torch.float64))

    for cls in (Sub, Trunc, Double):
        assert checks.check_equalized_conv(cls), cls.__name__
    assert capsys.readouterr().out.count(": PASS\n") == 3
