"""Probe gantutor's public API with the bad inputs a learner gives, and classify what happens.

    .venv/bin/python tools/probe_bad_input.py [--list KIND] [--only SUBSTRING]

Every case calls one public function (tiny tensors, in this process, under a timeout) with one bad
value and is classified:

* clear:   an exception raised by gantutor's own code whose message names the argument;
* handled: the call did the right thing (a numpy array converted; a student's SystemExit reported as
           FAIL; a KeyboardInterrupt passed through);
* unclear: an exception whose message does not name the argument, or that came from inside torch,
           numpy or Python (AttributeError, IndexError, ...);
* silent:  no exception and no sensible result;
* hang:    the call did not return within its CPU-time budget (10 s unless the case says);
* crash:   a BaseException (SystemExit, ...) escaped.

tests/test_bad_input.py runs it and requires 0 unclear, silent, hang and crash.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import gantutor  # noqa: E402

PACKAGE = Path(gantutor.__file__).resolve().parent
KINDS = ("clear", "handled", "unclear", "silent", "hang", "crash")
# Exceptions no check raises on purpose: they always mean the bad value got past the boundary.
ACCIDENTAL = (AttributeError, IndexError, ZeroDivisionError, UnboundLocalError, NameError, RecursionError)


class _Timeout(KeyboardInterrupt):
    """Raised by the alarm; a KeyboardInterrupt so that nothing swallows it."""


@dataclass
class Case:
    label: str            # "module.function(arg=kind)"
    arg: str              # the argument the message must name
    call: Callable[[], Any]
    ok: Optional[Callable[[Any], bool]] = None   # no exception and ok(result): handled
    passes: Tuple[type, ...] = ()                # these exceptions are the right outcome (handled)
    names: Tuple[str, ...] = ()                  # other words that name the argument
    timeout: float = 10.0


def _names(msg: str, words: Sequence[str]) -> bool:
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(w)}(?![A-Za-z0-9_])", msg, re.I) for w in words)


def _from_gantutor(exc: BaseException) -> bool:
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and Path(last).resolve().is_relative_to(PACKAGE)


def run_case(case: Case) -> Tuple[str, str]:
    """(kind, detail) for one case."""
    def alarm(signum, frame):
        raise _Timeout()

    # The budget is CPU time (ITIMER_PROF), so a loaded machine does not turn slow calls into hangs;
    # a wall-clock backstop (ITIMER_REAL) catches a call that waits without computing.
    old = signal.signal(signal.SIGALRM, alarm), signal.signal(signal.SIGPROF, alarm)
    signal.setitimer(signal.ITIMER_PROF, case.timeout)
    signal.setitimer(signal.ITIMER_REAL, 20 * case.timeout)
    try:
        try:
            result = case.call()
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old[0])
            signal.signal(signal.SIGPROF, old[1])
    except _Timeout:
        return "hang", f"no answer within {case.timeout:g} s of CPU time"
    except case.passes as e:
        return "handled", f"{type(e).__name__} passed through"
    except Exception as e:
        msg = f"{type(e).__name__}: {e}"
        if not isinstance(e, ACCIDENTAL) and _from_gantutor(e) and _names(str(e), (case.arg,) + case.names):
            return "clear", msg
        return "unclear", msg
    except BaseException as e:  # SystemExit and the like
        return "crash", f"{type(e).__name__}: {e}"
    finally:
        import matplotlib.pyplot as plt
        plt.close("all")
    if case.ok is not None:
        try:
            good = bool(case.ok(result))
        except Exception as e:  # noqa: BLE001
            good = False
            result = f"ok-check failed: {e}"
        if good:
            return "handled", "accepted and right"
    return "silent", f"returned {_short(result)}"


def _short(x) -> str:
    from gantutor.validate import describe
    try:
        return describe(x)
    except Exception:  # noqa: BLE001
        return type(x).__name__


# -- fixtures ------------------------------------------------------------------------------------------
def _fixtures() -> Dict[str, Any]:
    from gantutor.data import TensorSampler, ring8
    from gantutor.models import (DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator,
                                 MLPProjectionDiscriminator)
    from gantutor.config import TrainConfig
    from gantutor.train import Trainer

    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    imgs_u8 = torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8, generator=g)
    labels = torch.arange(16) % 10
    f = dict(
        img=torch.rand(4, 1, 28, 28, generator=g) * 2 - 1,
        img_u8=imgs_u8, labels=labels,
        logits=torch.randn(8, generator=g),
        z=torch.randn(4, 8, generator=g),
        pts=torch.randn(64, 2, generator=g) * 0.5,
        W=torch.randn(5, 4, generator=g),
        conv_w=torch.randn(3, 2, 3, 3, generator=g),
        G=MLPGenerator(8, (1, 28, 28), hidden=(16,)),
        D=MLPDiscriminator((1, 28, 28), hidden=(16,)),
        cG=MLPGenerator(8, (1, 28, 28), hidden=(16,), n_classes=10),
        cD=MLPDiscriminator((1, 28, 28), hidden=(16,), n_classes=10),
        P=MLPProjectionDiscriminator((1, 28, 28), hidden=(16,), n_classes=10),
        dG=DCGANGenerator(latent_dim=8, image_size=28, channels=1, ngf=4),
        dD=DCGANDiscriminator(image_size=28, channels=1, ndf=4),
        tG=MLPGenerator(4, (2,), hidden=(8,), value_range=None),
        tD=MLPDiscriminator((2,), hidden=(8,)),
        sampler=TensorSampler(imgs_u8, labels, n_classes=10),
        usampler=TensorSampler(imgs_u8),
        ring=ring8(),
    )
    f["cfg"] = lambda **kw: TrainConfig(**{**dict(steps=2, batch_size=8, progress=False, latent_dim=4), **kw})
    f["trainer"] = lambda **kw: Trainer(MLPGenerator(4, (2,), hidden=(8,), value_range=None),
                                        MLPDiscriminator((2,), hidden=(8,)), ring8(), f["cfg"](**kw))
    f["ctrainer"] = lambda: __import__("gantutor.train", fromlist=["ConditionalTrainer"]).ConditionalTrainer(
        MLPGenerator(4, (1, 28, 28), hidden=(8,), n_classes=10), MLPDiscriminator((1, 28, 28), hidden=(8,), n_classes=10),
        TensorSampler(imgs_u8, labels, n_classes=10), f["cfg"]())
    return f


# -- batteries -----------------------------------------------------------------------------------------
def _any(_r) -> bool:
    return True


def _finite_result(r) -> bool:
    if isinstance(r, torch.Tensor):
        return bool(torch.isfinite(r.float()).all()) if r.numel() else True
    if isinstance(r, (float, int)):
        return math.isfinite(r)
    if isinstance(r, (tuple, list)):
        return all(_finite_result(v) for v in r)
    return True


def tensor_battery(label: str, arg: str, call: Callable[[Any], Any], base: torch.Tensor, kinds: Sequence[str],
                   **kw) -> List[Case]:
    """Cases for one tensor argument: ``call(value)`` with ``base`` corrupted as ``kinds`` say."""
    make = {
        "None": lambda: None,
        "list": lambda: base.tolist(),
        "string": lambda: "abc",
        "numpy": lambda: base.numpy().copy(),
        "nan": lambda: base.clone().float().index_put_((torch.tensor([0]),), torch.tensor(float("nan"))),
        "inf": lambda: base.clone().float().index_put_((torch.tensor([0]),), torch.tensor(float("inf"))),
        "no-batch-axis": lambda: base[0],
        "extra-axis": lambda: base[None],
        "empty": lambda: base[:0],
        "int64": lambda: base.round().long(),
        "uint8": lambda: ((base.clamp(-1, 1) + 1) * 127.5).to(torch.uint8),
        "range255": lambda: (base.clamp(-1, 1) + 1) * 127.5,
        "bool": lambda: base > 0,
        "scalar": lambda: torch.tensor(1.0),
    }
    cases = []
    for kind in kinds:
        value_fn = make[kind]
        ok = kw.get("numpy_ok", _finite_result) if kind == "numpy" else None
        cases.append(Case(f"{label}({arg}={kind})", arg, (lambda vf=value_fn: call(vf())), ok=ok,
                          names=kw.get("names", ())))
    return cases


NUMBER_BAD = {
    "pos_int": [0, -1, 1.5, "2", None, True, float("nan")],
    "nonneg_int": [-1, 1.5, "2", None, True],
    "pos_float": [0, -1.0, float("nan"), float("inf"), "1", None],
    "nonneg_float": [-1.0, float("nan"), float("inf"), "1", None],
    "prob": [-0.1, 1.5, float("nan"), "0.5", None],
    "finite": [float("nan"), float("inf"), "1", None],
    "bool": [None, "yes", "no"],
    "int": ["a", 1.5, None],
}


def number_battery(label: str, arg: str, call: Callable[[Any], Any], spec: str, **kw) -> List[Case]:
    return [Case(f"{label}({arg}={v!r})", arg, (lambda v=v: call(v)), names=kw.get("names", ()),
                 timeout=kw.get("timeout", 10.0))
            for v in NUMBER_BAD[spec] + list(kw.get("extra", ()))]


def one(label: str, arg: str, call, **kw) -> Case:
    return Case(label, arg, call, **kw)


# -- the cases -----------------------------------------------------------------------------------------
def all_cases(new: bool = False) -> List[Case]:
    """The cases of the modules of chapters 1-6 and 10 (required clean by the tests), or with
    ``new`` those of the chapter 7-9 modules (reported, not yet required)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if new:
        import probe_cases_new
        return probe_cases_new.cases(_fixtures(), sys.modules[__name__])
    import probe_cases

    return probe_cases.cases(_fixtures(), sys.modules[__name__])


def run(cases: List[Case], verbose: bool = False) -> Dict[str, List[Tuple[str, str]]]:
    out: Dict[str, List[Tuple[str, str]]] = {k: [] for k in KINDS}
    import warnings
    for case in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kind, detail = run_case(case)
        out[kind].append((case.label, detail))
        if verbose:
            print(f"{kind:8s} {case.label}: {detail[:160]}", flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", nargs="*", default=["unclear", "silent", "hang", "crash"],
                        help="kinds whose cases to print")
    parser.add_argument("--only", default="", help="run only cases whose label contains this")
    parser.add_argument("-v", action="store_true", help="print every case")
    parser.add_argument("--new", action="store_true", help="probe the chapter 7-9 modules instead")
    parser.add_argument("--json", default="", help="write every case's kind and detail to this file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    start = time.process_time()
    cases = [c for c in all_cases(args.new) if args.only in c.label]
    out = run(cases, args.v)
    for kind in args.list:
        for label, detail in out.get(kind, []):
            print(f"{kind:8s} {label}: {detail[:200]}")
    if args.json:
        import json
        Path(args.json).write_text(json.dumps(out, indent=1))
    counts = ", ".join(f"{len(out[k])} {k}" for k in KINDS)
    print(f"{len(cases)} cases: {counts} ({time.process_time() - start:.1f} s CPU)")
    return 0 if not any(out[k] for k in ("unclear", "silent", "hang", "crash")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
