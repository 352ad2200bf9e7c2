"""What every assignment check shares: one verdict line per check, students' code called silently,
and one discriminator-step comparison.

Every check takes the student's function, runs it on fixed, seeded inputs, prints exactly ONE line and
returns True or False:

    check_g_nonsaturating: PASS
    check_g_nonsaturating: FAIL - your loss equals the minimax loss log(1 - D(G(z))); ...

A check never raises on a wrong answer: exceptions in the student's code are reported as FAIL with
their type and message, and anything the student's code prints or warns is swallowed, so the verdict
is the cell's only output. The notebooks store the PASS lines and nbval compares them (see
book/assignments/make_student.py).
"""
from __future__ import annotations

import contextlib
import io
import math
import warnings
from typing import Callable

import numpy as np
import torch

STABILITY_HINT = ("log(sigmoid(l)) and log(1 - sigmoid(l)) overflow for large |l|; use "
                  "F.softplus (log D = -softplus(-l), log(1 - D) = -softplus(l)) or F.logsigmoid")


class _Fail(Exception):
    """A diagnosed wrong answer; its message becomes the verdict's explanation."""


def _one_line(text, limit: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _verdict(name: str, body: Callable[[], None]) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body()
        line = f"{name}: PASS"
    except _Fail as e:
        line = f"{name}: FAIL - {_one_line(e)}"
    except SystemExit as e:  # exit() in a student's function the check called directly
        line = f"{name}: FAIL - your function raised SystemExit: {_one_line(e, 160)}"
    except Exception as e:  # a bug in the check itself, never the student's fault
        line = f"{name}: FAIL - internal error of the check ({type(e).__name__}: {_one_line(e, 120)})"
    print(line)
    return line.endswith(": PASS")


def _call(fn: Callable, *args):
    """Call the student's function silently; its exceptions become a FAIL."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args)
    except NotImplementedError:
        raise _Fail("not implemented yet (NotImplementedError)") from None
    except (KeyboardInterrupt, GeneratorExit):  # the reader pressed stop: let it stop
        raise
    except BaseException as e:  # Exception, and SystemExit from exit() or sys.exit() in the student's code
        raise _Fail(f"your function raised {type(e).__name__}: {_one_line(e, 160)}") from None


def _student_grad(outputs, inputs, **kwargs):
    """``torch.autograd.grad`` of a tensor the student's function returned. Autograd errors there come from
    the student's graph (a backward() inside the function freed it, or real/fake were changed in place after
    use), not from the check: report them as a FAIL that names those causes."""
    try:
        return torch.autograd.grad(outputs, inputs, **kwargs)
    except RuntimeError as e:
        raise _Fail("the graph of the tensor your function returned was freed or modified, so the check cannot "
                    "differentiate it: do not call backward() inside the function and do not change inputs in "
                    f"place ({_one_line(e, 100)})") from None


def _close(a: float, b: float, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= atol + rtol * abs(b)



def _as_scalar(out, n: int) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        kind = type(out).__name__
        extra = " (do not call .item(): the loss must stay differentiable)" if isinstance(out, float) else ""
        raise _Fail(f"your function returned a {kind}; return a scalar torch.Tensor{extra}")
    if out.numel() != 1:
        shape = tuple(out.shape)
        if out.numel() == n:
            raise _Fail(f"your loss has shape {shape}, one value per sample: take the mean over the batch")
        raise _Fail(f"your loss has shape {shape}, not a scalar (did a [N] and a [N, 1] tensor broadcast "
                    f"to [N, N]? flatten the logits first)")
    return out.reshape(())



def _to_numpy(out) -> np.ndarray:
    if isinstance(out, torch.Tensor):
        out = out.detach().cpu().double().numpy()
    try:
        return np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Fail(f"your function returned a {type(out).__name__}, not an array of numbers") from None



def _params_close(a, b) -> bool:
    return all(torch.allclose(x, y, rtol=1e-4, atol=1e-6) for x, y in zip(a, b))


def _state(net: torch.nn.Module):
    """What a step must leave as it found it: each parameter's requires_grad, each module's train/eval mode."""
    return [p.requires_grad for p in net.parameters()], [m.training for m in net.modules()]


def _same_state(name: str, net: torch.nn.Module, before) -> None:
    grads, modes = _state(net)
    if grads != before[0]:
        raise _Fail(f"your step switched requires_grad of {name}'s parameters and left it switched "
                    f"({name}.requires_grad_(False) never undone): a later step could not train {name}; "
                    + ("make the fakes under torch.no_grad() (or .detach() them) instead" if name == "G" else
                       f"leave {name} as you found it"))
    if modes != before[1]:
        was_training = next(b for a, b in zip(modes, before[1]) if a != b)
        mode, call = ("eval", "eval") if was_training else ("training", "train")
        raise _Fail(f"your step left {name} (or one of its layers) in {mode} mode ({name}.{call}() never undone): "
                    f"batch norm and dropout would then behave differently in later steps; leave {name}'s mode "
                    f"as you found it")


def compare_d_step(fn: Callable, setup: Callable, replay: Callable, wrong_answers, mismatch: str) -> None:
    """Run a student's discriminator step ``fn(D, G, opt_d, x_real, z)`` on the networks ``setup()``
    returns and compare it with ``replay()`` (the right step on identical networks; ``replay(**kwargs)``
    gives the step of each wrong answer). Raises ``_Fail`` naming what is wrong: G changed, G's or D's
    requires_grad or train/eval mode left switched, D unchanged,
    a known wrong answer of ``wrong_answers`` [(kwargs, message)], another wrong update (``mismatch``),
    gradients into G, or a missing or wrong returned loss. Shared by every discriminator-step check."""
    D, G, opt, x_real, z = setup()
    d_before = [p.detach().clone() for p in D.parameters()]
    g_before = [(p.detach().clone(), p.grad.clone()) for p in G.parameters()]
    states = {name: _state(net) for name, net in (("G", G), ("D", D))}
    returned = _call(fn, D, G, opt, x_real, z)
    d_after = [p.detach().clone() for p in D.parameters()]
    want, want_loss = replay()
    if any(not torch.equal(p, w) for p, (w, _) in zip(G.parameters(), g_before)):
        raise _Fail("G's weights changed: this step updates only the discriminator")
    for name, net in (("G", G), ("D", D)):
        _same_state(name, net, states[name])
    if _params_close(d_after, d_before):
        if all(p.grad is None or not bool(p.grad.any()) for p in D.parameters()):
            raise _Fail("D's weights did not change and its gradients were empty when the step ran: call "
                        "opt_d.zero_grad() BEFORE loss.backward() (zero_grad() after backward() wipes the "
                        "gradients the step needs), then opt_d.step()")
        raise _Fail("D's weights did not change: call opt_d.step() after loss.backward()")
    if not _params_close(d_after, want):
        for kwargs, message in wrong_answers:
            if _params_close(d_after, replay(**kwargs)[0]):
                raise _Fail(message)
        raise _Fail(mismatch)
    # G's gradients must be exactly as they were (not changed, and not wiped by G.zero_grad())
    if any(p.grad is None or not torch.equal(p.grad, g) for p, (_, g) in zip(G.parameters(), g_before)):
        raise _Fail("gradients flowed into G (or G.zero_grad() cleared G's gradients): make the fakes under "
                    "torch.no_grad() (or .detach() them) and leave G alone")
    if returned is None:
        raise _Fail("D was updated correctly, but return the loss too")
    try:
        got = float(returned.detach() if isinstance(returned, torch.Tensor) else returned)
    except (TypeError, ValueError, RuntimeError):
        raise _Fail(f"return the loss as a number or a scalar tensor, not a {type(returned).__name__}") from None
    if not _close(got, want_loss):
        raise _Fail(f"D was updated correctly, but you returned {got:.6g}; return the loss {want_loss:.6g}")
