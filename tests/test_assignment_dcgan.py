"""Assignment 6 (DCGAN): nbval passes on the solution and on the untouched student check outputs, and
fails on wrong answers (a 3 x 3 kernel with stride 2 in the generator's stack; fakes not detached in
the discriminator's step); the checks of gantutor.checks.a06_dcgan give the right verdicts."""
from __future__ import annotations

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gantutor.checks import a06_dcgan as checks_dcgan

import nbhelpers as nb

SOLUTION = nb.FOLDER / "a06_dcgan_solution.ipynb"
STUDENT = nb.FOLDER / "a06_dcgan.ipynb"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The notebook runs of this module, started at once and collected by name."""
    tmp = tmp_path_factory.mktemp("assignment_dcgan")
    k3 = nb.solution_with(SOLUTION, tmp / "k3", "t2-code", "nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False)",
                          "nn.ConvTranspose2d(2 * ngf, ngf, 3, 2, 1, bias=False)")
    attached = nb.solution_with(SOLUTION, tmp / "attached", "t3-code", "    with torch.no_grad():\n        fake = G(z)",
                                "    fake = G(z)")
    runs = nb.NbvalRuns({"solution": nb.start_nbval(SOLUTION), "k3": nb.start_nbval(k3),
                         "attached": nb.start_nbval(attached)})
    yield runs
    runs.close()


def test_nbval_passes_on_the_solution(runs):
    rc, out, err = runs("solution")
    assert rc == 0, out[-4000:] + err[-2000:]


def test_nbval_fails_with_a_3x3_kernel_in_the_stack(runs):
    rc, out, _ = runs("k3")
    assert rc != 0 and "1 failed" in out
    assert "check_generator_stack: FAIL - after transposed convolution 2 the map is 13 x 13" in out


def test_nbval_fails_when_fakes_are_not_detached(runs):
    rc, out, _ = runs("attached")
    assert rc != 0 and "1 failed" in out
    assert "check_d_train_step: FAIL - gradients flowed into G" in out


def test_student_version_is_generated_and_hides_answers():
    text = STUDENT.read_text(encoding="utf8")
    assert "BEGIN SOLUTION" not in text and "Instructor notes" not in text
    assert "(i - 1) * s - 2 * p + k" not in text and "nn.Tanh()" not in text
    student = nbformat.read(STUDENT, as_version=4)
    checks = [c for c in student.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(checks) == 3 and all(not c.outputs and c.execution_count is None for c in checks)  # no PASS under a stub
    result = nb.run([nb.MAKE_STUDENT, "--check"], cwd=nb.ROOT)
    assert "a06_dcgan" not in result.stderr


# ---- the check functions directly -------------------------------------------------------------------

def _stack(latent_dim, ngf, k=4, last=nn.Tanh, bn_out=False, out_pad=0, p=1):
    layers = [nn.ConvTranspose2d(latent_dim, 2 * ngf, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * ngf), nn.ReLU(),
              nn.ConvTranspose2d(2 * ngf, ngf, k, 2, p, output_padding=out_pad, bias=False), nn.BatchNorm2d(ngf),
              nn.ReLU(), nn.ConvTranspose2d(ngf, 1, k, 2, p, output_padding=out_pad, bias=False)]
    return nn.Sequential(*layers, *([nn.BatchNorm2d(1)] if bn_out else []), last())


def _d_step(D, G, opt, x, z, detach=True, swap=False, joint=False, pooled=0.0, reduction="mean"):
    fake = G(z).detach() if detach else G(z)
    if pooled:
        real_logits, fake_logits = D(x), D(fake)
        logits = torch.cat([real_logits, fake_logits])
        labels = torch.cat([torch.ones_like(real_logits), torch.zeros_like(fake_logits)])
        loss = pooled * F.binary_cross_entropy_with_logits(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    if joint:
        logits = D(torch.cat([x, fake]))
        real_logits, fake_logits = logits[:len(x)], logits[len(x):]
    else:
        real_logits, fake_logits = D(x), D(fake)
    real_label, fake_label = (0.0, 1.0) if swap else (1.0, 0.0)
    loss = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label),
                                              reduction=reduction) + \
        F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, fake_label), reduction=reduction)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def test_checks_pass_on_right_answers(capsys):
    assert checks_dcgan.check_transposed_output_size(lambda i, k, s, p: (i - 1) * s - 2 * p + k)
    assert checks_dcgan.check_generator_stack(_stack)
    assert checks_dcgan.check_generator_stack(lambda d, n: _stack(d, n, k=6, p=2))   # k = 6 is divisible by 2
    # the same stack with ReLU(inplace=True): still right
    assert checks_dcgan.check_generator_stack(lambda d, n: nn.Sequential(*[
        nn.ReLU(True) if isinstance(m, nn.ReLU) else m for m in _stack(d, n)]))
    assert checks_dcgan.check_d_train_step(_d_step)
    # the same loss through softplus (stable) or nn.BCEWithLogitsLoss
    assert checks_dcgan.check_d_train_step(_softplus_step)
    assert capsys.readouterr().out.count(": PASS\n") == 6


def _first_stride2(d, n):
    # first layer with stride 2 on z seen as a 1 x 1 image: one stamp, so the stride does nothing and the
    # output is the same 7 x 7 as with stride 1; the layer must not be rejected for "uneven overlap"
    s = _stack(d, n)
    s[0] = nn.ConvTranspose2d(d, 2 * n, 7, stride=2, bias=False)
    return s


def test_stack_check_accepts_stride_on_1x1_input(capsys):
    torch.manual_seed(0)
    s1, s2 = _stack(4, 3), _first_stride2(4, 3)
    s2[0].weight.data.copy_(s1[0].weight.data)
    z = torch.randn(5, 4, 1, 1)
    assert torch.equal(s1[0](z), s2[0](z))          # the same map on a 1 x 1 input
    assert checks_dcgan.check_generator_stack(_first_stride2)
    out = capsys.readouterr().out
    assert ": PASS\n" in out and "unevenly" not in out


def _softplus_step(D, G, opt, x, z):
    with torch.no_grad():
        fake = G(z)
    loss = F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _sigmoid_step(D, G, opt, x, z):
    with torch.no_grad():
        fake = G(z)
    bce = nn.BCELoss()
    r, f = torch.sigmoid(D(x)), torch.sigmoid(D(fake))
    loss = bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


@pytest.mark.parametrize("fn,message", [
    (lambda i, k, s, p: (i + 2 * p - k) // s + 1, "ordinary convolution"),
    (lambda i, k, s, p: (i - 1) * s + k, "padding is missing"),
    (lambda i, k, s, p: i * s, "for (i, k, s, p)"),
])
def test_size_check_names_wrong_answers(fn, message, capsys):
    assert not checks_dcgan.check_transposed_output_size(fn)
    assert message in capsys.readouterr().out


@pytest.mark.parametrize("fn,message", [
    (lambda d, n: _stack(d, n, k=3), "13 x 13"),
    # the design task 4 asks students to reject: the right size, an uneven overlap
    (lambda d, n: _stack(d, n, k=3, out_pad=1), "kernel 3, stride 2 and output_padding=1"),
    (lambda d, n: _stack(d, n, k=5, p=2, out_pad=1), "5 is not divisible by 2"),
    (lambda d, n: _stack(d, n, last=nn.Sigmoid), "sigmoid"),
    (lambda d, n: _stack(d, n, last=nn.Identity), "nn.Tanh()"),
    (lambda d, n: _stack(d, n, bn_out=True), "none on the output layer"),
    (lambda d, n: nn.Sequential(*[nn.LeakyReLU(0.2) if isinstance(m, nn.ReLU) else m for m in _stack(d, n)]),
     "ReLU in its hidden layers"),
    (lambda d, n: "not a module", "nn.Module"),
])
def test_stack_check_names_wrong_answers(fn, message, capsys):
    assert not checks_dcgan.check_generator_stack(fn)
    assert message in capsys.readouterr().out


@pytest.mark.parametrize("kwargs,message", [
    (dict(detach=False), "gradients flowed into G"),
    (dict(swap=True), "labels are swapped"),
    (dict(joint=True), "one concatenated real+fake batch"),
    (dict(pooled=1.0), "one BCE mean over the real and fake batches"),
    (dict(pooled=2.0), "one BCE mean over the real and fake batches"),   # equal to the right loss at equal sizes
])
def test_d_step_check_names_wrong_answers(kwargs, message, capsys):
    assert not checks_dcgan.check_d_train_step(lambda *a: _d_step(*a, **kwargs))
    assert message in capsys.readouterr().out


def test_d_step_check_rejects_unnamed_wrong_answers(capsys):
    # a sum instead of batch means: plausible, not named, caught by the generic mismatch message
    assert not checks_dcgan.check_d_train_step(lambda *a: _d_step(*a, reduction="sum"))
    assert "differ from one optimiser step" in capsys.readouterr().out


def test_d_step_check_uses_unequal_batch_sizes():
    _, _, _, x_real, z = checks_dcgan._step_setup()
    assert len(x_real) != len(z)


def test_d_step_check_names_missing_zero_grad_and_blank_answers(capsys):
    def no_zero_grad(D, G, opt, x, z):
        with torch.no_grad():
            fake = G(z)
        loss = F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean()
        loss.backward()
        opt.step()
        return loss

    def blank(*args):
        raise NotImplementedError("d_train_step() is not implemented yet")

    assert not checks_dcgan.check_d_train_step(no_zero_grad)
    assert not checks_dcgan.check_d_train_step(blank)
    out = capsys.readouterr().out
    assert "opt_d.zero_grad()" in out and "not implemented yet" in out and out.count("\n") == 2


def test_generator_stack_with_relu_before_batch_norm_fails(capsys):
    """A referee's wrong answer: ConvT -> ReLU -> BN (the order swapped) passed the counts."""
    def swapped(latent_dim, ngf):
        return nn.Sequential(nn.ConvTranspose2d(latent_dim, 2 * ngf, 7, 1, 0, bias=False), nn.ReLU(),
                             nn.BatchNorm2d(2 * ngf), nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),
                             nn.ReLU(), nn.BatchNorm2d(ngf), nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False), nn.Tanh())
    assert not checks_dcgan.check_generator_stack(swapped)
    assert "BatchNorm2d, then ReLU" in capsys.readouterr().out


def _log_sigmoid_step(D, G, opt, x, z):
    with torch.no_grad():
        fake = G(z)
    loss = -torch.log(torch.sigmoid(D(x))).mean() - torch.log(1 - torch.sigmoid(D(fake))).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


@pytest.mark.parametrize("fn", [_log_sigmoid_step, _sigmoid_step], ids=["log-sigmoid", "sigmoid+BCELoss"])
def test_d_step_check_rejects_unstable_losses_with_the_stability_hint(fn, capsys):
    """A referee's wrong answer: log(sigmoid(.)) passed on the small logits of the check's network.
    Both forms are right on ordinary logits (the first comparison) and wrong near +50."""
    D, G, opt, x, z = checks_dcgan._step_setup()
    with torch.no_grad():
        assert D(x).abs().max() < 10          # the ordinary case: the unstable forms still agree there
    assert not checks_dcgan.check_d_train_step(fn)
    out = capsys.readouterr().out
    assert "near +120" in out and "softplus" in out and "..." not in out


@pytest.mark.parametrize("sign", [1, -1])
def test_d_step_large_logit_cases_have_logits_near_plus_and_minus_120(sign):
    D, G, opt, x, z = checks_dcgan._step_setup(sign * checks_dcgan.LARGE_LOGIT)
    with torch.no_grad():
        logits = torch.cat([D(x), D(G(z))])
    assert (logits - sign * 120).abs().max() < 10 and (torch.sigmoid(logits) == (sign > 0)).all()
    # beyond |l| = 103.3, e^-|l| underflows to 0 in float32: log(sigmoid(-l)) is log 0 too
    assert (logits.abs() > 104).all() and (torch.sigmoid(-sign * logits) == 0).all()


def test_d_step_check_names_zero_grad_after_backward(capsys):
    """A referee's wrong answer: backward(), zero_grad(), step() was told to call step()."""
    def late_zero_grad(D, G, opt, x, z):
        with torch.no_grad():
            fake = G(z)
        loss = F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean()
        loss.backward()
        opt.zero_grad()
        opt.step()
        return loss

    def no_step(D, G, opt, x, z):
        with torch.no_grad():
            fake = G(z)
        loss = F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean()
        opt.zero_grad()
        loss.backward()
        return loss

    assert not checks_dcgan.check_d_train_step(late_zero_grad)
    assert not checks_dcgan.check_d_train_step(no_step)
    late, missing = capsys.readouterr().out.splitlines()
    assert "BEFORE loss.backward()" in late and "call opt_d.step() after loss.backward()" in missing


# ---- referee ch6, findings 3 and 4 ------------------------------------------------------------------

def _relu_before_tanh(d, n):
    s = _stack(d, n)
    return nn.Sequential(*list(s)[:-1], nn.ReLU(), nn.Tanh())


def _dropout_in_hidden_layer(d, n):
    s = list(_stack(d, n))
    return nn.Sequential(*s[:3], nn.Dropout2d(0.2), *s[3:])


def _double_relu(d, n):
    s = list(_stack(d, n))
    return nn.Sequential(*s[:3], nn.ReLU(), *s[3:])


@pytest.mark.parametrize("fn,message", [
    (_relu_before_tanh, "none after the last transposed convolution (its output goes straight into tanh)"),
    (_double_relu, "your stack has 3 ReLUs; use exactly two"),
    (_dropout_in_hidden_layer, "your stack also has Dropout2d, which the table does not list"),
], ids=["relu-before-tanh", "two-relus-in-a-row", "dropout2d"])
def test_stack_check_names_extra_layers(fn, message, capsys):
    """The referee's wrong answers: an extra ReLU before tanh was told 'put a ReLU after each of the first
    two batch norms' (which it had); Dropout2d after a hidden ReLU passed."""
    assert not checks_dcgan.check_generator_stack(fn)
    out = capsys.readouterr().out
    assert message in out and "put a ReLU after each" not in out


def _nested_blocks(d, n):
    # the right stack written differently: nested blocks, biases on, an nn.Identity placeholder
    def block(i, o, k, s, p):
        return nn.Sequential(nn.ConvTranspose2d(i, o, k, s, p), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
    return nn.Sequential(block(d, 2 * n, 7, 1, 0), block(2 * n, n, 4, 2, 1), nn.Identity(),
                         nn.Sequential(nn.ConvTranspose2d(n, 1, 4, 2, 1), nn.Tanh()))


def test_stack_check_passes_right_stacks_written_differently(capsys):
    assert checks_dcgan.check_generator_stack(_nested_blocks)
    assert capsys.readouterr().out.endswith(": PASS\n")


def _eval_mode_fakes(D, G, opt, x, z):
    G.eval()
    with torch.no_grad():
        fake = G(z)
    G.train()
    loss = F.softplus(-D(x)).mean() + F.softplus(D(fake)).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _train_mode_fakes_explicit(D, G, opt, x, z):
    G.train()                       # already in training mode: a no-op, so still right
    fake = G(z).detach()
    loss = F.binary_cross_entropy_with_logits(D(x), torch.ones(len(x))) + \
        F.binary_cross_entropy_with_logits(D(fake), torch.zeros(len(fake)))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def test_d_step_check_names_fakes_made_in_eval_mode(capsys):
    """The referee's wrong answer: fakes made with G.eval() under no_grad, G.train() restored, got only the
    generic mismatch message."""
    assert not checks_dcgan.check_d_train_step(_eval_mode_fakes)
    out = capsys.readouterr().out
    assert "G in eval mode" in out and "leave G in training mode" in out and "differ from" not in out
    assert checks_dcgan.check_d_train_step(_train_mode_fakes_explicit)
    assert capsys.readouterr().out.endswith(": PASS\n")


# ---- referee ch6 (third round), findings 1-3 --------------------------------------------------------

def _tanh_in_hidden_block(d, n):
    s = list(_stack(d, n))
    return nn.Sequential(*s[:3], nn.Tanh(), *s[3:])


def _double_output_tanh(d, n):
    return nn.Sequential(*_stack(d, n), nn.Tanh())


@pytest.mark.parametrize("fn,message", [
    (_tanh_in_hidden_block, "your stack has 2 Tanh layers; use exactly one, as the last layer: a tanh in a "
                            "hidden layer"),
    (_double_output_tanh, "two tanh layers in a row at the output squash it twice, into (-0.76, 0.76)"),
], ids=["tanh-after-hidden-relu", "double-output-tanh"])
def test_stack_check_names_extra_tanh_layers(fn, message, capsys):
    """The referee's wrong answers (finding 1): the type whitelist let a second tanh pass, after a hidden
    ReLU or after the output tanh (images then in (-0.76, 0.76))."""
    assert not checks_dcgan.check_generator_stack(fn)
    assert message in capsys.readouterr().out
    with torch.no_grad():
        out = _double_output_tanh(4, 3).train()(3 * torch.randn(8, 4, 1, 1))
    assert out.abs().max() < torch.tanh(torch.tensor(1.0)) + 1e-6


class _FunctionalStack(nn.Module):
    """The right layers with F.relu / torch.tanh in forward: the activations are not modules."""

    def __init__(self, d, n):
        super().__init__()
        self.c1, self.b1 = nn.ConvTranspose2d(d, 2 * n, 7, 1, 0, bias=False), nn.BatchNorm2d(2 * n)
        self.c2, self.b2 = nn.ConvTranspose2d(2 * n, n, 4, 2, 1, bias=False), nn.BatchNorm2d(n)
        self.c3 = nn.ConvTranspose2d(n, 1, 4, 2, 1, bias=False)

    def forward(self, z):
        h = F.relu(self.b1(self.c1(z)))
        h = F.relu(self.b2(self.c2(h)))
        return torch.tanh(self.c3(h))


def test_stack_check_names_functional_activations(capsys):
    """Finding 3: this stack has the right batch norms but was told to 'use BatchNorm2d after ...'."""
    assert not checks_dcgan.check_generator_stack(_FunctionalStack)
    out = capsys.readouterr().out
    assert "functional activations" in out and "nn.ReLU()/nn.Tanh() layers" in out and "BatchNorm2d after" not in out


def _biases_everywhere(d, n):
    # finding 2: the table leaves biases optional; bias=True on every layer, the output layer included
    return nn.Sequential(*[nn.ConvTranspose2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
                           if isinstance(m, nn.ConvTranspose2d) else m for m in _stack(d, n)])


def _identity_between_layers(d, n):
    s = list(_stack(d, n))
    return nn.Sequential(nn.Identity(), *s[:3], nn.Identity(), *s[3:-1], nn.Sequential(nn.Identity(), s[-1]))


def test_stack_check_passes_right_stacks_in_the_table_order(capsys):
    """Right answers written differently still pass the exact-order comparison: nn.Identity anywhere,
    nested blocks, biases on."""
    for fn in (_biases_everywhere, _identity_between_layers, _nested_blocks, _stack):
        assert checks_dcgan.check_generator_stack(fn)
    assert capsys.readouterr().out.count(": PASS\n") == 4


# ---- referee a06 (item 4), findings 1-10 -------------------------------------------------------------

def _step_with(loss_fn, detach_fake_logits=False, own_opt=None, scale=1.0):
    def step(D, G, opt, x, z):
        with torch.no_grad():
            fake = G(z)
            f_nograd = D(fake) if detach_fake_logits else None
        opt = own_opt(D) if own_opt else opt
        r, f = D(x), (f_nograd if detach_fake_logits else D(fake))
        loss = scale * loss_fn(r, f)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def _bce_sum(r, f):
    return F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) + \
        F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))


def _sigmoid_identity(r, f):   # finding 1: 1 - sigmoid(l) = sigmoid(-l), still from sigmoid outputs
    return -torch.log(torch.sigmoid(r)).mean() - torch.log(torch.sigmoid(-f)).mean()


def _unstable_real_only(r, f):
    return -torch.log(torch.sigmoid(r)).mean() + F.softplus(f).mean()


def _logsigmoid(r, f):   # right, written differently
    return -F.logsigmoid(r).mean() - F.logsigmoid(-f).mean()


def _joint_pooled_step(D, G, opt, x, z):   # finding 4: one batch through D, one mean
    with torch.no_grad():
        fake = G(z)
    logits = D(torch.cat([x, fake]))
    labels = torch.cat([torch.ones(len(x)), torch.zeros(len(fake))])
    loss = F.binary_cross_entropy_with_logits(logits, labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _zero_grad_keep_after_backward(D, G, opt, x, z):
    with torch.no_grad():
        fake = G(z)
    loss = _bce_sum(D(x), D(fake))
    loss.backward()
    opt.zero_grad(set_to_none=False)   # zero tensors, not None: the momentum alone moves D
    opt.step()
    return loss


@pytest.mark.parametrize("fn,message", [
    (_step_with(_sigmoid_identity), "near +120"),
    (_step_with(_unstable_real_only), "near -120"),
    (_joint_pooled_step, "one concatenated real+fake batch through D"),
    (_step_with(_bce_sum, scale=0.5), "the loss is the SUM of the two batch means"),
    (_step_with(_bce_sum, detach_fake_logits=True), "you computed D(fake) without gradients too"),
    (_step_with(_bce_sum, own_opt=lambda D: torch.optim.SGD(D.parameters(), lr=0.1)), "differ from one optimiser step"),
    (_zero_grad_keep_after_backward, "BEFORE loss.backward()"),
], ids=["log-sigmoid(-l)", "unstable-real-term", "joint-pooled", "average", "no-grad-D-fake", "own-sgd",
        "zero-grad-keep-after-backward"])
def test_d_step_check_names_referee_a06_wrong_answers(fn, message, capsys):
    assert not checks_dcgan.check_d_train_step(fn)
    out = capsys.readouterr().out
    assert message in out and "..." not in out


def test_d_step_check_passes_logsigmoid_and_the_momentum_buffer_is_used(capsys):
    assert checks_dcgan.check_d_train_step(_step_with(_logsigmoid))
    assert capsys.readouterr().out.endswith(": PASS\n")
    _, _, opt, _, _ = checks_dcgan._step_setup()
    assert opt.defaults["momentum"] == 0.9 and all("momentum_buffer" in opt.state[p]
                                                   for g in opt.param_groups for p in g["params"])


CT, BN = nn.ConvTranspose2d, nn.BatchNorm2d


def _shared_relu(d, n):   # finding 2: one ReLU instance used twice, right
    r = nn.ReLU()
    return nn.Sequential(CT(d, 2 * n, 7, bias=False), BN(2 * n), r, CT(2 * n, n, 4, 2, 1, bias=False), BN(n), r,
                         CT(n, 1, 4, 2, 1, bias=False), nn.Tanh())


class _CustomModule(nn.Module):   # finding 8: ModuleLists, a shared ReLU, the right forward
    def __init__(self, d, n, gain=1.0):
        super().__init__()
        self.convs = nn.ModuleList([CT(d, 2 * n, 7, bias=False), CT(2 * n, n, 4, 2, 1, bias=False),
                                    CT(n, 1, 4, 2, 1, bias=False)])
        self.bns, self.relu, self.tanh, self.gain = nn.ModuleList([BN(2 * n), BN(n)]), nn.ReLU(), nn.Tanh(), gain

    def forward(self, z):
        for conv, bn in zip(self.convs, self.bns):
            z = self.gain * self.relu(bn(conv(z)))
        return self.tanh(self.convs[2](z))


class _Shift(nn.Module):   # finding 6: tanh wrapped, mapped to [0, 1]
    def __init__(self, half=False):
        super().__init__()
        self.t, self.half = nn.Tanh(), half

    def forward(self, x):
        return 0.5 * self.t(x) if self.half else (self.t(x) + 1) / 2


def _with_output(last):
    return lambda d, n: nn.Sequential(*list(_stack(d, n))[:-1], last)


def _dilated(d, n):   # finding 7: effective kernel 3 with stride 2
    return nn.Sequential(CT(d, 2 * n, 7, bias=False), BN(2 * n), nn.ReLU(),
                         CT(2 * n, n, 2, 2, 1, dilation=2, output_padding=1), BN(n), nn.ReLU(),
                         CT(n, 1, 2, 2, 1, dilation=2, output_padding=1), nn.Tanh())


def _dilated_even(d, n):   # k=2, dilation 3, stride 2: taps at 0 and 3, one on each phase: even, right
    return nn.Sequential(CT(d, 2 * n, 7, bias=False), BN(2 * n), nn.ReLU(), CT(2 * n, n, 2, 2, 1, dilation=3),
                         BN(n), nn.ReLU(), CT(n, 1, 2, 2, 1, dilation=3), nn.Tanh())


def test_stack_check_passes_shared_modules_and_custom_forward(capsys):
    for fn in (_shared_relu, _CustomModule, _dilated_even):
        assert checks_dcgan.check_generator_stack(fn)
    assert capsys.readouterr().out.count(": PASS\n") == 3


@pytest.mark.parametrize("fn,message", [
    (lambda d, n: nn.ModuleList(list(_stack(d, n))), "an nn.ModuleList has no forward"),
    (_with_output(_Shift()), "changes the values after your last layer (your images lie in [0, 1]"),
    (_with_output(_Shift(half=True)), "changes the values after your last layer"),
    (lambda d, n: _CustomModule(d, n, gain=2.0), "changes the values between your ReLU and ConvTranspose2d"),
    (_dilated, "dilated, its taps hit the 2 output phases 2/0 times"),
], ids=["modulelist", "tanh-to-0-1", "half-tanh", "arithmetic-between-layers", "dilation"])
def test_stack_check_names_referee_a06_wrong_answers(fn, message, capsys):
    assert not checks_dcgan.check_generator_stack(fn)
    out = capsys.readouterr().out
    assert message in out and "not implemented yet" not in out and "..." not in out


def test_taps_per_phase_matches_the_divisibility_rule():
    for k in range(1, 9):
        for s in (2, 3):
            assert (len(set(checks_dcgan._taps_per_phase(k, s))) == 1) == (k % s == 0)
    assert checks_dcgan._taps_per_phase(2, 2, 2) == [2, 0] and checks_dcgan._taps_per_phase(2, 2, 3) == [1, 1]


def _size(i, k, s, p):
    return (i - 1) * s - 2 * p + k


@pytest.mark.parametrize("fn,message", [
    (lambda *a: torch.tensor([_size(*a)] * 2), "return one integer (the side of the square output), got tensor"),
    (lambda *a: np.array([_size(*a)] * 2), "return one integer (the side of the square output), got array"),
    (lambda *a: float("nan"), "return an integer, got nan"),
    (lambda i, k, s, p: (i + 2 * p - k) / s + 1, "ordinary convolution"),
    (lambda *a: str(_size(*a)), "return an integer, got '14'"),
], ids=["shape-tensor", "shape-array", "nan", "conv-true-division", "string"])
def test_size_check_names_returns_of_the_wrong_kind(fn, message, capsys):
    assert not checks_dcgan.check_transposed_output_size(fn)
    out = capsys.readouterr().out
    assert message in out and "internal error" not in out


def test_size_check_passes_integers_written_differently(capsys):
    for fn in (lambda *a: np.int64(_size(*a)), lambda *a: torch.tensor(_size(*a)), lambda *a: float(_size(*a))):
        assert checks_dcgan.check_transposed_output_size(fn)
    assert capsys.readouterr().out.count(": PASS\n") == 3
