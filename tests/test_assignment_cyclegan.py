"""Assignment 9 (CycleGAN): nbval passes on the solution and fails on wrong answers (identity terms
swapped; a buffer that never updates); the checks of gantutor.checks.a09_cyclegan pass right answers
written in other ways and name every listed wrong answer."""
from __future__ import annotations

import random

import nbformat
import pytest
import torch
import torch.nn.functional as Fn

from gantutor.checks import a09_cyclegan as checks
from gantutor.train import ImagePool

import nbhelpers as nb

SOLUTION = nb.FOLDER / "a09_cyclegan_solution.ipynb"
STUDENT = nb.FOLDER / "a09_cyclegan.ipynb"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("assignment_cyclegan")
    swapped = nb.solution_with(SOLUTION, tmp / "swapped", "t1-code",
                               "identity = (G(y) - y).abs().mean() + (F(x) - x).abs().mean()",
                               "identity = (F(y) - y).abs().mean() + (G(x) - x).abs().mean()")
    frozen = nb.solution_with(SOLUTION, tmp / "frozen", "t2-code", "                self.images[i] = image.clone()\n", "")
    runs = nb.NbvalRuns({"solution": nb.start_nbval(SOLUTION), "swapped": nb.start_nbval(swapped),
                         "frozen": nb.start_nbval(frozen)})
    yield runs
    runs.close()


def test_nbval_passes_on_the_solution(runs):
    rc, out, err = runs("solution")
    assert rc == 0, out[-4000:] + err[-2000:]


def test_nbval_fails_with_swapped_identity_terms(runs):
    rc, out, _ = runs("swapped")
    assert rc != 0 and "1 failed" in out
    assert "check_generator_total_loss: FAIL - the identity terms are swapped" in out


def test_nbval_fails_with_a_buffer_that_never_updates(runs):
    rc, out, _ = runs("frozen")
    assert rc != 0 and "1 failed" in out
    assert "check_history_buffer: FAIL - the buffer never updates once full" in out


def test_student_version_is_generated_and_hides_answers():
    text = STUDENT.read_text(encoding="utf8")
    assert "BEGIN SOLUTION" not in text and "Instructor notes" not in text
    assert "0.5 * lam * identity" not in text and "random.randrange(self.size)" not in text
    student = nbformat.read(STUDENT, as_version=4)
    cells = [c for c in student.cells if c.cell_type == "code" and c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(cells) == 2
    result = nb.run([nb.MAKE_STUDENT, "--check"], cwd=nb.ROOT)
    assert "a09_cyclegan" not in result.stderr


# ---- the generator-loss check ---------------------------------------------------------------------

def _mse1(s):
    return ((s - 1) ** 2).mean()


def _loss(G, F, D_X, D_Y, x, y, lam, idt="right", cyc="right", adv="right", w_adv=1.0, w_idt=0.5):
    adv_f = _mse1(D_X(G(y))) if adv == "seed" else _mse1(D_X(F(y)))
    adversarial = _mse1(D_Y(G(x))) + adv_f
    cycle = ((G(F(x)) - x).abs().mean() + (F(G(y)) - y).abs().mean() if cyc == "wrong"
             else (F(G(x)) - x).abs().mean() + (G(F(y)) - y).abs().mean())
    identity = ((F(y) - y).abs().mean() + (G(x) - x).abs().mean() if idt == "swapped"
                else (G(y) - y).abs().mean() + (F(x) - x).abs().mean())
    if w_adv == "lam":
        return lam * adversarial + cycle + w_idt * identity
    return w_adv * adversarial + lam * cycle + w_idt * lam * identity


def _loss_functional(G, F, D_X, D_Y, x, y, lam):
    fake_y, fake_x = G(x), F(y)
    s_y, s_x = D_Y(fake_y), D_X(fake_x)
    adv = Fn.mse_loss(s_y, torch.ones_like(s_y)) + Fn.mse_loss(s_x, torch.ones_like(s_x))
    return adv + lam * (Fn.l1_loss(F(fake_y), x) + Fn.l1_loss(G(fake_x), y)) + \
        lam / 2 * (Fn.l1_loss(G(y), y) + Fn.l1_loss(F(x), x))


def test_generator_loss_check_passes_right_answers(capsys):
    assert checks.check_generator_total_loss(_loss)
    assert checks.check_generator_total_loss(_loss_functional)
    G, F, D_X, D_Y, x, y = checks._nets()
    assert torch.allclose(checks.reference_total_loss(G, F, D_X, D_Y, x, y, 10.0),
                          _loss_functional(G, F, D_X, D_Y, x, y, 10.0))
    assert capsys.readouterr().out.count(": PASS\n") == 2


@pytest.mark.parametrize("kwargs,message", [
    (dict(idt="swapped"), "identity terms are swapped"),
    (dict(cyc="wrong"), "cycle runs the wrong way"),
    (dict(w_adv="lam"), "lambda multiplies the cycle term"),
    (dict(w_adv="lam", w_idt=0.5), "lambda multiplies the cycle term"),
    (dict(adv="seed"), "D_X judges F's output"),
    (dict(w_idt=1.0), "weight lambda / 2"),
    (dict(w_idt=0.0), "identity terms lambda / 2"),
    (dict(w_adv=0.5), "factor 1/2"),
])
def test_generator_loss_check_names_wrong_answers(kwargs, message, capsys):
    assert not checks.check_generator_total_loss(lambda *a: _loss(*a, **kwargs))
    assert message in capsys.readouterr().out


def test_generator_loss_check_catches_a_detached_cycle(capsys):
    def detached(G, F, D_X, D_Y, x, y, lam):  # the right value, but the cycle does not train G
        fake_y, fake_x = G(x), F(y)
        adversarial = _mse1(D_Y(fake_y)) + _mse1(D_X(fake_x))
        cycle = (F(fake_y.detach()) - x).abs().mean() + (G(fake_x.detach()) - y).abs().mean()
        return adversarial + lam * cycle + lam / 2 * ((G(y) - y).abs().mean() + (F(x) - x).abs().mean())

    assert not checks.check_generator_total_loss(detached)
    assert "gradients into G and F are not" in capsys.readouterr().out


def test_generator_loss_check_lambda_on_everything_and_unnamed_wrong_answers(capsys):
    def lam_everywhere(G, F, D_X, D_Y, x, y, lam):
        return lam * _loss(G, F, D_X, D_Y, x, y, 1.0)

    def l2_cycle(G, F, D_X, D_Y, x, y, lam):  # squared error in the cycle: not a named wrong answer
        return _mse1(D_Y(G(x))) + _mse1(D_X(F(y))) + lam * (((F(G(x)) - x) ** 2).mean() + ((G(F(y)) - y) ** 2).mean()) \
            + lam / 2 * ((G(y) - y).abs().mean() + (F(x) - x).abs().mean())

    def as_float(*args):
        return float(_loss(*args))

    assert not checks.check_generator_total_loss(lam_everywhere)
    assert not checks.check_generator_total_loss(l2_cycle)
    assert not checks.check_generator_total_loss(as_float)
    out = capsys.readouterr().out.splitlines()
    assert "lambda is applied to the adversarial terms too" in out[0]
    assert "your loss is" in out[1] and "scalar torch.Tensor" in out[2]


# ---- the history-buffer check ---------------------------------------------------------------------

class Buffer:
    def __init__(self, size, update=True, only_new=False, detach=True, per_batch=False, grow=False, overfill=False):
        self.size, self.images, self.overfill = size, [], overfill
        self.update, self.only_new, self.detach, self.per_batch, self.grow = update, only_new, detach, per_batch, grow

    def query(self, images):
        images = images.detach() if self.detach else images
        coin = random.random() < 0.5
        if self.overfill and len(self.images) < self.size:  # stores the whole batch while there is room
            self.images.extend(images)
            return images
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
                continue
            if self.grow:
                self.images.append(image)
            if self.only_new or not (coin if self.per_batch else random.random() < 0.5):
                out.append(image)
                continue
            i = random.randrange(self.size)
            out.append(self.images[i])
            if self.update:
                self.images[i] = image
        return torch.stack(out)


def test_buffer_check_passes_right_answers(capsys):
    assert checks.check_history_buffer(Buffer)
    assert checks.check_history_buffer(ImagePool)  # torch's random numbers instead of Python's
    assert capsys.readouterr().out.count(": PASS\n") == 2


@pytest.mark.parametrize("kwargs,message", [
    (dict(only_new=True), "returns only the new images"),
    (dict(only_new=True, update=False), "returns only the new images"),
    (dict(update=False), "never updates once full"),
    (dict(detach=False), "detach the images"),
    (dict(per_batch=True), "not once for the whole batch"),
    (dict(grow=True), "the buffer grew"),
    (dict(overfill=True), "one by one"),
])
def test_buffer_check_names_wrong_answers(kwargs, message, capsys):
    assert not checks.check_history_buffer(lambda size: Buffer(size, **kwargs))
    assert message in capsys.readouterr().out


def test_buffer_check_blank_answer(capsys):
    class Blank:
        def __init__(self, size):
            raise NotImplementedError("__init__() is not implemented yet")

    assert not checks.check_history_buffer(Blank)
    assert "not implemented yet" in capsys.readouterr().out


def test_history_buffer_check_rejects_the_referees_wrong_buffers(capsys):
    """Four wrong buffers passed before: overwrite another slot than the one returned, an off-by-one
    index, first-in-first-out eviction, and returning the new image with probability 0.6."""
    import random

    from gantutor.checks import a09_cyclegan as ch

    def make(p_new=0.5, pick=lambda size: random.randrange(size), other_slot=False, fifo=False):
        class Buffer:
            def __init__(self, size):
                self.size, self.images = size, []

            def query(self, images):
                out = []
                for im in images.detach():
                    if len(self.images) < self.size:
                        self.images.append(im.clone())
                        out.append(im)
                    elif random.random() >= p_new:
                        i = pick(self.size)
                        out.append(self.images[i].clone())
                        if fifo:
                            self.images.pop(0)
                            self.images.append(im.clone())
                        else:
                            self.images[random.randrange(self.size) if other_slot else i] = im.clone()
                    else:
                        out.append(im)
                return torch.stack(out)
        return Buffer

    assert ch.check_history_buffer(make())
    for kwargs, message in ((dict(other_slot=True), "still in the buffer"),
                            (dict(pick=lambda size: random.randrange(size - 1)), "were ever returned"),
                            (dict(fifo=True), "the new image must"),
                            (dict(p_new=0.6), "expected about 50%")):
        capsys.readouterr()
        assert not ch.check_history_buffer(make(**kwargs)), kwargs
        assert message in capsys.readouterr().out, kwargs


# ---- wrong answers found by the second referee ----------------------------------------------------

def test_generator_loss_check_names_pooled_scores_and_switched_networks(capsys):
    def pooled(G, F, D_X, D_Y, x, y, lam):  # the course notes' global average before the square
        adv = _mse1(D_Y(G(x)).mean((1, 2, 3))) + _mse1(D_X(F(y)).mean((1, 2, 3)))
        return adv + _loss(G, F, D_X, D_Y, x, y, lam) - _mse1(D_Y(G(x))) - _mse1(D_X(F(y)))

    def frozen(G, F, D_X, D_Y, x, y, lam):  # the authors' set_requires_grad(False), never undone
        D_X.requires_grad_(False), D_Y.requires_grad_(False)
        return _loss(G, F, D_X, D_Y, x, y, lam)

    def restored(G, F, D_X, D_Y, x, y, lam):  # frozen for the G step, then switched back: right
        D_X.requires_grad_(False), D_Y.requires_grad_(False)
        out = _loss(G, F, D_X, D_Y, x, y, lam)
        D_X.requires_grad_(True), D_Y.requires_grad_(True)
        return out

    def eval_mode(G, F, D_X, D_Y, x, y, lam):
        G.eval()
        return _loss(G, F, D_X, D_Y, x, y, lam)

    assert not checks.check_generator_total_loss(pooled)
    assert "averaged before the square" in capsys.readouterr().out
    assert not checks.check_generator_total_loss(frozen)
    assert "requires_grad of D_X" in capsys.readouterr().out
    assert checks.check_generator_total_loss(restored)
    assert ": PASS" in capsys.readouterr().out
    assert not checks.check_generator_total_loss(eval_mode)
    assert "left G (or one of its layers) in eval mode" in capsys.readouterr().out


class _HalfBatch(Buffer):
    """Exactly half of each batch from the history (no per-image coin)."""
    def query(self, images):
        images, out = images.detach(), []
        swap = set(random.sample(range(len(images)), len(images) // 2))
        for j, image in enumerate(images):
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif j in swap:
                i = random.randrange(self.size)
                out.append(self.images[i])
                self.images[i] = image
            else:
                out.append(image)
        return torch.stack(out)


class _SizeMinusOne(Buffer):
    """Stores while len < size - 1 and draws from the images it has: never reaches its size."""
    def query(self, images):
        out = []
        for image in images.detach():
            if len(self.images) < self.size - 1:
                self.images.append(image)
                out.append(image)
            elif random.random() < 0.5:
                out.append(image)
            else:
                i = random.randrange(len(self.images))
                out.append(self.images[i])
                self.images[i] = image
        return torch.stack(out)


@pytest.mark.parametrize("cls,message", [(_HalfBatch, "exactly half new"), (_SizeMinusOne, "fill up to size = 5")])
def test_buffer_check_names_half_batches_and_a_short_buffer(cls, message, capsys):
    assert not checks.check_history_buffer(cls)
    assert message in capsys.readouterr().out
