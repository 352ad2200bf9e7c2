"""Assignment 8 (StyleGAN): nbval passes on the solution, and
fails on wrong answers (AdaIN over the batch; demodulation per input channel); the checks of
gantutor.checks.a08_stylegan give the right verdicts and name each common wrong answer."""
from __future__ import annotations

import nbformat
import pytest
import torch
import torch.nn.functional as F

from gantutor.checks import a08_stylegan as checks
from gantutor.layers.style import adain, modulated_conv2d, modulated_conv2d_reference

import nbhelpers as nb

SOLUTION = nb.FOLDER / "a08_stylegan_solution.ipynb"
STUDENT = nb.FOLDER / "a08_stylegan.ipynb"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("assignment_stylegan")
    batch = nb.solution_with(SOLUTION, tmp / "batch", "t1-code", "x.mean(dim=(2, 3), keepdim=True)",
                             "x.mean(dim=(0, 2, 3), keepdim=True)")
    batch = nb.solution_with(batch, tmp / "batch2", "t1-code", "x.var(dim=(2, 3)", "x.var(dim=(0, 2, 3)")
    per_input = nb.solution_with(SOLUTION, tmp / "per_input", "t2-code", "sum(dim=(2, 3, 4)", "sum(dim=(1, 3, 4)")
    runs = nb.NbvalRuns({"solution": nb.start_nbval(SOLUTION), "batch": nb.start_nbval(batch),
                         "per_input": nb.start_nbval(per_input)})
    yield runs
    runs.close()


def test_nbval_passes_on_the_solution(runs):
    rc, out, err = runs("solution")
    assert rc == 0, out[-4000:] + err[-2000:]


def test_nbval_fails_with_adain_over_the_batch(runs):
    rc, out, _ = runs("batch")
    assert rc != 0 and "1 failed" in out
    assert "check_adain: FAIL - you normalised over the batch as well" in out


def test_nbval_fails_with_demodulation_per_input_channel(runs):
    rc, out, _ = runs("per_input")
    assert rc != 0 and "1 failed" in out
    assert "check_modulated_conv: FAIL - you demodulated per INPUT channel" in out


def test_student_version_is_generated_and_hides_answers():
    text = STUDENT.read_text(encoding="utf8")
    assert "BEGIN SOLUTION" not in text and "Instructor notes" not in text
    assert "groups=n" not in text and "w_avg + psi * (w - w_avg)" not in text
    student = nbformat.read(STUDENT, as_version=4)
    checks_cells = [c for c in student.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(checks_cells) == 3 and all(not c.outputs and c.execution_count is None for c in checks_cells)
    result = nb.run([nb.MAKE_STUDENT, "--check"], cwd=nb.ROOT)
    assert "a08_stylegan" not in result.stderr


# ---- the check functions directly -------------------------------------------------------------------

def _adain_loop(x, y_s, y_b, eps=1e-8):  # right, written differently: one sample and channel at a time
    out = torch.empty_like(x)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[n, c]
            out[n, c] = y_s[n, c] * (v - v.mean()) / torch.sqrt(((v - v.mean()) ** 2).mean() + eps) + y_b[n, c]
    return out


def _modconv(x, weight, s, eps=1e-8, dims=(2, 3, 4), output=False, batch=False, use_eps=True, eps_outside=False):
    w = weight[None] * (s[:, :, None, None, None] if output else s[:, None, :, None, None])
    norm = w.square().sum(dim=(0, 2, 3, 4) if batch else dims, keepdim=True)
    w = w / (norm.sqrt() + eps) if eps_outside else w / torch.sqrt(norm + (eps if use_eps else 0.0))
    return torch.cat([F.conv2d(x[n:n + 1], w[n], padding=weight.shape[-1] // 2) for n in range(x.shape[0])])


def test_checks_pass_on_right_answers(capsys):
    assert checks.check_adain(adain)
    assert checks.check_adain(_adain_loop)
    assert checks.check_modulated_conv(lambda x, w, s, eps: modulated_conv2d(x, w, s, eps=eps))
    assert checks.check_modulated_conv(lambda x, w, s, eps: modulated_conv2d_reference(x, w, s, eps=eps))
    assert checks.check_truncation(lambda w, a, psi: torch.lerp(a.expand_as(w), w, psi))
    assert capsys.readouterr().out.count(": PASS\n") == 5


def _bn(x, y_s, y_b):
    mu, var = x.mean(dim=(0, 2, 3), keepdim=True), x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)
    return y_s[:, :, None, None] * (x - mu) / torch.sqrt(var + 1e-8) + y_b[:, :, None, None]


@pytest.mark.parametrize("fn,message", [
    (_bn, "normalised over the batch as well"),
    (lambda x, s, b: s[:, :, None, None] * (x - x.mean(dim=(2, 3), keepdim=True)) / x.std(dim=(2, 3), keepdim=True)
     + b[:, :, None, None], "unbiased variance"),
    (lambda x, s, b: adain(x, b, s), "y_s and y_b are swapped"),
    (lambda x, s, b: adain(x, s.abs(), b), "you scaled by |y_s|"),
    (lambda x, s, b: s[:, :, None, None] * x + b[:, :, None, None], "your output is not y_s[n, i]"),  # unnamed
    (lambda x, s, b: adain(x, s.abs(), b, eps=0.1), "your output is not y_s[n, i]"),  # unnamed, plausible
    (lambda x, s, b: "nope", "return a torch.Tensor"),
])
def test_adain_check_names_wrong_answers(fn, message, capsys):
    assert not checks.check_adain(fn)
    assert message in capsys.readouterr().out


@pytest.mark.parametrize("kwargs,message", [
    (dict(dims=(1, 3, 4)), "per INPUT channel"),
    (dict(batch=True), "sums over the batch too"),
    (dict(output=True), "OUTPUT channels by s"),
    (dict(use_eps=False), "eps is missing"),
    (dict(eps_outside=True), "eps INSIDE the square root"),
    (dict(dims=(2,)), "your output differs from the modulated, demodulated convolution"),  # unnamed
])
def test_modconv_check_names_wrong_answers(kwargs, message, capsys):
    assert not checks.check_modulated_conv(lambda x, w, s, eps: _modconv(x, w, s, eps, **kwargs))
    assert message in capsys.readouterr().out


def test_modconv_check_eps_message_says_what_the_missing_eps_does(capsys):
    """The eps message once said w'' 'blows up' for tiny styles; without eps they are scaled up to unit
    norm (finite), with eps the output stays near 0. Both facts, on the check's own tiny case."""
    x, weight, s = checks._modconv_cases()[2]
    without = _modconv(x, weight, s, use_eps=False)
    with_eps = _modconv(x, weight, s)
    assert torch.isfinite(without).all() and without.abs().max() > 0.1 and with_eps.abs().max() < 0.05
    assert not checks.check_modulated_conv(lambda x, w, s, eps: _modconv(x, w, s, eps, use_eps=False))
    out = capsys.readouterr().out
    assert "scaled up to unit norm" in out and "blows up" not in out
    # an eps of the student's own (ignoring the argument) is not named as "missing"
    assert not checks.check_modulated_conv(lambda x, w, s, eps: _modconv(x, w, s, 1e-4))
    assert "not a fixed value of your own" in capsys.readouterr().out


@pytest.mark.parametrize("fn,message", [
    (lambda w, a, psi: psi * w, "toward zero"),
    (lambda w, a, psi: a + (1 - psi) * (w - a), "swapped"),
    (lambda w, a, psi: a + psi * w, "is not w_avg + psi (w - w_avg)"),  # unnamed
    (lambda w, a, psi: (_ for _ in ()).throw(NotImplementedError()), "not implemented yet"),
])
def test_truncation_check_names_wrong_answers(fn, message, capsys):
    assert not checks.check_truncation(fn)
    assert message in capsys.readouterr().out


def test_modconv_check_rejects_a_hard_coded_padding(capsys):
    """A referee's wrong answer: padding=1 hard-coded passed while every case used K = 3."""
    import torch.nn.functional as F

    def fixed_padding(x, weight, s, eps):
        w = weight[None] * s[:, None, :, None, None]
        w = w / torch.sqrt((w ** 2).sum(dim=(2, 3, 4), keepdim=True) + eps)
        return torch.cat([F.conv2d(x[n:n + 1], w[n], padding=1) for n in range(x.shape[0])])

    assert not checks.check_modulated_conv(fixed_padding)
    assert "K // 2" in capsys.readouterr().out


def test_modconv_check_rejects_a_hard_coded_eps_of_1e8(capsys):
    """Referee: every call passed eps=1e-8, so an answer hard-coding 1e-8 passed; the tiny case now runs
    with eps = 1e-4 as well."""
    assert not checks.check_modulated_conv(lambda x, w, s, eps: _modconv(x, w, s, 1e-8))
    assert "eps = 0.0001" in (out := capsys.readouterr().out) and "not a fixed value of your own" in out


def test_adain_check_names_the_official_code_form(capsys):
    """StyleGAN's code writes (1 + y_s) * normalised + y_b (affine bias 0); the chapter's y_s is the scale."""
    assert not checks.check_adain(lambda x, s, b: adain(x, 1 + s, b))
    assert "(1 + y_s), the form of StyleGAN's code" in capsys.readouterr().out


def test_truncation_check_accepts_no_range_assert_but_rejects_in_place(capsys):
    """Referee: psi outside [0, 1] was tested without the task saying so, and an in-place answer passed
    (the check handed over clones and never looked at them again)."""
    def in_place(w, w_avg, psi):
        return w.sub_(w_avg).mul_(psi).add_(w_avg)

    def asserts_range(w, w_avg, psi):
        assert 0 <= psi <= 1, "psi must lie in [0, 1]"
        return w_avg + psi * (w - w_avg)

    assert not checks.check_truncation(in_place)
    assert "changed its input w or w_avg in place" in capsys.readouterr().out
    assert not checks.check_truncation(asserts_range)       # the task text now says psi may leave [0, 1]
    assert "FAIL" in capsys.readouterr().out
    assert checks.check_truncation(lambda w, a, psi: a + psi * (w - a))
    assert "PASS" in capsys.readouterr().out
