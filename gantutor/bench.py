"""The benchmark behind the targets of DESIGN.md: ``python -m gantutor.bench [--quick] [--out DIR]``.

One run measures, side by side on the same machine, and writes ``DIR/results.json`` and
``DIR/results.md`` (default ``bench/``):

1. throughput of the MLP GAN at batch 64 with :class:`gantutor.train.Trainer` against a classic
   tutorial loop (torchvision ``MNIST`` + ``DataLoader`` with per-item ``ToTensor``, a sigmoid on D and
   ``nn.BCELoss``), and the FLOP rate achieved as a share of the measured matmul peak;
2. seconds of CPU training until a conditional MLP GAN reaches 90% conditional accuracy, with MNIST-FID;
3. the ring of 8 and grid of 25 for every loss of the zoo (:mod:`gantutor.zoo`), each with 55 s of
   CPU training (``RING_TARGET_SETTINGS``, ``GRID_SETTINGS`` in :mod:`gantutor.config`).

``tools/time_book.py`` (run by ``make bench`` after this) adds the fourth measurement, the whole book.
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import torch
from torch import nn

from . import metrics, zoo
from . import validate as V
from .config import GRID_SETTINGS, RING_TARGET_SETTINGS, ToySettings, TrainConfig
from .data import grid25, mnist_sampler, ring8
from .models import MLPDiscriminator, MLPGenerator
from .threads import thread_report
from .train import Trainer




@dataclass(frozen=True)
class CGANSettings:
    """Conditional MLP GAN on MNIST for the time-to-quality measurement."""

    batch_size: int = 64
    lr_g: float = 1e-3  # 5x the DCGAN default: reaches 90% in about half the steps of 2e-4
    lr_d: float = 1e-3
    eval_every: int = 250
    eval_n: int = 1000
    target: float = 0.90
    cap_seconds: float = 300.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("batch_size", "eval_every", "eval_n"):  # eval_every = 0 would evaluate forever
            V.positive_int(f"CGANSettings.{name}", getattr(self, name))
        for name in ("lr_g", "lr_d", "cap_seconds"):
            V.positive_number(f"CGANSettings.{name}", getattr(self, name))
        V.probability("CGANSettings.target", self.target)
        V.integer("CGANSettings.seed", self.seed)


CGAN_SETTINGS = CGANSettings()


# -- 1. throughput ------------------------------------------------------------------------------------
def _torchvision_root(data_root: Optional[str]) -> str:
    """A folder torchvision's MNIST reads: ``MNIST/raw`` with the four IDX files unzipped (torchvision
    checks for the unzipped names). The shared data folder holds .gz files, so copy into a temp folder."""
    src = Path(data_root or os.environ.get("GANTUTOR_DATA", "")) / "MNIST" / "raw"
    tmp = Path(tempfile.mkdtemp(prefix="gantutor-bench-"))
    (tmp / "MNIST" / "raw").mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        plain, gz = src / stem, src / (stem + ".gz")
        if plain.is_file():
            shutil.copyfile(plain, tmp / "MNIST" / "raw" / stem)
        else:
            with gzip.open(gz, "rb") as f, open(tmp / "MNIST" / "raw" / stem, "wb") as g:
                shutil.copyfileobj(f, g)
    return str(tmp)


class _WithSigmoid(nn.Module):
    """The tutorial's discriminator: our MLP with ``nn.Sigmoid`` appended (outputs probabilities)."""

    def __init__(self, D: nn.Module):
        super().__init__()
        self.D, self.act = D, nn.Sigmoid()

    def forward(self, x):
        return self.act(self.D(x))


class _Clock:
    """Wall-clock and process CPU time together. With one torch thread and ``num_workers=0`` both
    loops run on one core, so CPU time measures their work without the time the OS gave to other
    processes on a shared machine; wall time is recorded too."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rates(self, images: int) -> Dict[str, float]:
        return {"wall": images / (time.perf_counter() - self.wall), "cpu": images / (time.process_time() - self.cpu)}


def classic_loop(root: str, steps: int, batch_size: int = 64, seed: int = 0) -> Dict[str, float]:
    """The classic tutorial loop (PyTorch-GAN's gan.py): torchvision ``MNIST`` with per-item
    ``ToTensor`` + ``Normalize``, ``DataLoader(batch_size=64, shuffle=True)`` (``num_workers=0``, as
    tutorials run on a CPU), the same MLPs with a sigmoid on D, ``nn.BCELoss``, Adam with gan.py's
    settings (lr 2e-4, betas (0.5, 0.999)) and torch's default (not fused) kernel; one G step then one
    D step on the same fakes. Returns images per second, ``{"wall": .., "cpu": ..}``."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    loader = DataLoader(datasets.MNIST(root, train=True, download=False, transform=tf),
                        batch_size=batch_size, shuffle=True)
    G, D = MLPGenerator(64, (1, 28, 28)), _WithSigmoid(MLPDiscriminator((1, 28, 28)))
    bce = nn.BCELoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done, clock = 0, None
    while done < steps + 5:
        for imgs, _ in loader:
            if done == 5:
                clock = _Clock()  # after five warm-up steps
            valid, fake = torch.ones(imgs.size(0)), torch.zeros(imgs.size(0))
            z = torch.randn(imgs.size(0), 64)
            gen_imgs = G(z)
            g_loss = bce(D(gen_imgs), valid)
            opt_g.zero_grad(), g_loss.backward(), opt_g.step()
            d_loss = (bce(D(imgs), valid) + bce(D(gen_imgs.detach()), fake)) / 2
            opt_d.zero_grad(), d_loss.backward(), opt_d.step()
            done += 1
            if done >= steps + 5:
                break
    return clock.rates(steps * batch_size)


def _mlp_trainer(sampler) -> Trainer:
    return Trainer(MLPGenerator(64, (1, 28, 28)), MLPDiscriminator((1, 28, 28)), sampler,
                   TrainConfig(progress=False))


def gantutor_loop(sampler, steps: int) -> Dict[str, float]:
    """gantutor's Trainer on the same networks (default TrainConfig, batch 64), measured like
    :func:`classic_loop`: five warm-up steps, then ``steps``; images per second, wall and CPU."""
    trainer = _mlp_trainer(sampler)
    trainer.run(5, progress=False)
    clock = _Clock()
    trainer.run(steps, progress=False)
    return clock.rates(steps * trainer.config.batch_size)


def flops_per_step(sampler) -> int:
    """FLOPs of one Trainer step (one D step and one G step), counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    trainer = _mlp_trainer(sampler)
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.step()
    return int(counter.get_total_flops())


def matmul_peak(n: int = 1024, seconds: float = 1.0, clock: str = "wall") -> float:
    """Measured float32 matmul FLOP/s on this machine with the current thread count (``clock``:
    ``"wall"`` or ``"cpu"``, process CPU time, meaningful with one thread)."""
    V.positive_int("n", n)
    V.positive_number("seconds", seconds)
    V.one_of("clock", clock, ("wall", "cpu"))
    now = time.perf_counter if clock == "wall" else time.process_time
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    reps, start = 0, now()
    while now() - start < seconds:
        a @ b
        reps += 1
    return 2 * n ** 3 * reps / (now() - start)


def bench_throughput(steps: int, rounds: int, data_root: Optional[str] = None) -> Dict[str, object]:
    """Interleave the two loops ``rounds`` times and keep each one's best round (a shared machine).

    Both loops run in this process with the same threads, steps and warm-up. With one thread the
    headline uses CPU time (see :class:`_Clock`), otherwise wall time. ``ratio_bound`` is the ratio
    gantutor would reach if its whole step ran at the measured matmul peak: the ceiling for these
    networks and this algorithm on this machine."""
    V.positive_int("steps", steps)
    V.positive_int("rounds", rounds)
    root = _torchvision_root(data_root)
    try:
        sampler = mnist_sampler(data_root)
        ours, classic = [], []
        for _ in range(rounds):
            ours.append(gantutor_loop(sampler, steps))
            classic.append(classic_loop(root, steps))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    clock = "cpu" if torch.get_num_threads() == 1 else "wall"
    flops = flops_per_step(sampler)
    peak = matmul_peak(seconds=0.3 if steps < 100 else 1.0, clock=clock)
    best, best_classic = max(r[clock] for r in ours), max(r[clock] for r in classic)
    achieved = flops * best / 64
    return {"clock": clock, "gantutor_img_s": best, "classic_img_s": best_classic, "ratio": best / best_classic,
            "gantutor_wall_img_s": max(r["wall"] for r in ours), "classic_wall_img_s": max(r["wall"] for r in classic),
            "gantutor_rounds": ours, "classic_rounds": classic, "steps": steps, "rounds": rounds,
            "flops_per_step": flops, "achieved_gflop_s": achieved / 1e9, "matmul_peak_gflop_s": peak / 1e9,
            "peak_share": achieved / peak, "ratio_bound": peak / flops * 64 / best_classic}


# -- 2. time to quality -------------------------------------------------------------------------------
def bench_time_to_quality(s: CGANSettings = CGAN_SETTINGS, data_root: Optional[str] = None,
                          fid_n: int = 10000) -> Dict[str, object]:
    """Train a conditional MLP GAN and evaluate every ``eval_every`` steps until conditional accuracy
    reaches ``target`` or training time reaches ``cap_seconds`` (evaluation time is not counted)."""
    if not isinstance(s, CGANSettings):
        V.fail("s", "a CGANSettings", s, error=TypeError)
    V.positive_int("fid_n", fid_n)
    sampler = mnist_sampler(data_root, labelled=True)
    G, D = MLPGenerator(64, (1, 28, 28), n_classes=10), MLPDiscriminator((1, 28, 28), n_classes=10)
    cfg = TrainConfig(batch_size=s.batch_size, lr_g=s.lr_g, lr_d=s.lr_d, seed=s.seed, progress=False)
    trainer = Trainer(G, D, sampler, cfg)
    labels = torch.arange(s.eval_n) % 10
    trained, cpu, curve, acc = 0.0, 0.0, [], 0.0
    while trained < s.cap_seconds:
        start, start_cpu = time.perf_counter(), time.process_time()
        trainer.run(s.eval_every, progress=False)
        trained += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        acc = metrics.conditional_accuracy(trainer.sample(s.eval_n, y=labels).clamp(-1, 1), labels).overall
        curve.append((trainer.step_count, round(trained, 2), round(cpu, 2), acc))
        if acc >= s.target:
            break
    fid_labels = torch.arange(fid_n) % 10
    fid = metrics.mnist_fid(trainer.sample(fid_n, y=fid_labels).clamp(-1, 1))
    return {"reached": acc >= s.target, "seconds": trained, "cpu_seconds": cpu, "steps": trainer.step_count, "accuracy": acc,
            "fid": fid.fid, "fid_baseline": fid.baseline, "fid_n": fid.n, "curve": curve,
            "settings": asdict(s)}


# -- 3. toy distributions -----------------------------------------------------------------------------
TOY_SECONDS = 55.0  # CPU seconds of training per run: the ring target's 60 s, less the scoring


def bench_toys(ring: ToySettings = RING_TARGET_SETTINGS, grid: ToySettings = GRID_SETTINGS,
               seconds: float = TOY_SECONDS) -> List[dict]:
    """Every loss of the zoo (``gantutor.zoo.DEFAULT_SETTINGS``: the loss's optimiser, critic steps,
    clipping, penalty or spectral norm, from its paper or released code where the loss needs them, the
    book's own for ``hinge-sn``; see chapter 10) on the ring of 8 and the grid of 25, each given
    ``seconds`` of CPU time: the generator steps that fit are measured first (a throw-away run), and
    the learning-rate decay spans them."""
    V.positive_number("seconds", seconds)
    rows = []
    for set_name, mixture, toy in (("ring8", ring8(), ring), ("grid25", grid25(), grid)):
        for loss in zoo.DEFAULT_SETTINGS:
            per_step = zoo.seconds_per_step(zoo.toy_trainer(loss, mixture, toy, steps=toy.steps))
            record, _ = zoo.run_toy(loss, mixture, toy, zoo.steps_for(seconds, per_step))
            rows.append({"set": set_name, "g_loss": loss, "modes": record["modes"], "n_modes": record["n_modes"],
                         "high_quality": record["hq"], "reverse_kl": record["rkl"],
                         "cpu_seconds": record["cpu"], "steps": record["steps"]})
    return rows


# -- report -------------------------------------------------------------------------------------------
def _finite(obj):
    """Replace inf and NaN by None so that results.json is strict JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def _num(x, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def machine_info() -> Dict[str, object]:
    """Where and when the benchmark ran: CPU model, cores, torch version, threads, date (UTC)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu_model": model, "arch": platform.machine(), "cores": os.cpu_count(),
            "threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def to_markdown(r: dict) -> str:
    t, q, m = r["throughput"], r["time_to_quality"], r["machine_info"]
    per = "images per CPU-second" if t["clock"] == "cpu" else "images/s (wall)"
    lines = [f"# gantutor benchmark ({'quick' if r['quick'] else 'full'} run, {r['threads']} threads, "
             f"{r['machine']})", "",
             f"Measured {m['date']} on {m['cpu_model']} ({m['cores']} cores, {m['threads']} torch "
             f"thread{'s' if m['threads'] != 1 else ''}), torch {m['torch']}, Python {m['python']}.", "",
             "| measurement | value | target |", "| --- | --- | --- |",
             f"| MLP GAN, batch 64: gantutor Trainer | {t['gantutor_img_s']:.0f} {per} "
             f"({t['gantutor_wall_img_s']:.0f} wall) | |",
             f"| MLP GAN, batch 64: classic tutorial loop | {t['classic_img_s']:.0f} {per} "
             f"({t['classic_wall_img_s']:.0f} wall) | |",
             f"| throughput ratio (best of {t['rounds']} interleaved rounds of {t['steps']} steps) | "
             f"{t['ratio']:.2f}x | >= 3x: {_verdict(t['ratio'] >= 3)} |",
             f"| FLOP rate (gantutor) / matmul peak | {t['achieved_gflop_s']:.1f} / "
             f"{t['matmul_peak_gflop_s']:.1f} GFLOP/s = {100 * t['peak_share']:.0f}% | |",
             f"| ratio if gantutor's whole step ran at the matmul peak | {t['ratio_bound']:.2f}x | |",
             f"| cGAN to {100 * q['settings']['target']:.0f}% conditional accuracy | "
             f"{q['seconds']:.0f} s wall, {q['cpu_seconds']:.0f} s CPU ({q['steps']} steps, reached: {q['reached']}, accuracy "
             f"{100 * q['accuracy']:.1f}%) | < 180 s: {_verdict(q['reached'] and q['cpu_seconds'] < 180)} |",
             f"| MNIST-FID at that point (n={q['fid_n']}) | {q['fid']:.2f} (real-vs-real baseline "
             f"{q['fid_baseline']:.2f}) | |"]
    for row in r["toys"]:
        met = row["modes"] == row["n_modes"] and row["high_quality"] >= 0.9 and row["cpu_seconds"] <= 60
        target = f"8/8, >= 90% HQ, <= 60 s: {_verdict(met)}" if row["set"] == "ring8" else ""
        lines.append(f"| {row['set']}, {row['g_loss']} loss, {row['steps']} steps | {row['modes']}/"
                     f"{row['n_modes']} modes, {100 * row['high_quality']:.1f}% HQ, reverse KL "
                     f"{_num(row['reverse_kl'], '.3f')}, {row['cpu_seconds']:.0f} s CPU | {target} |")
    if "thread_report" in r:
        kinds = list(next(iter(r["thread_report"].values())))
        lines += ["", "Milliseconds per training step (batch 64) by torch thread count (gantutor's default: "
                  "1; `GANTUTOR_THREADS` overrides it):", "", "| threads | " + " | ".join(kinds) + " |",
                  "|---|" + "---|" * len(kinds)]
        lines += [f"| {name} | " + " | ".join(f"{ms:.1f}" for ms in row.values()) + " |"
                  for name, row in r["thread_report"].items()]
    lines.append(f"\nTotal time {r['total_seconds']:.0f} s.")
    return "\n".join(lines) + "\n"


def run(quick: bool = False, out: str = "bench", threads: Optional[int] = None,
        data_root: Optional[str] = None) -> dict:
    """Run every measurement (tiny budgets with ``quick``), write ``out``/results.{json,md}, print the table."""
    if threads:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    if quick:
        tiny = replace(RING_TARGET_SETTINGS, steps=20, batch_size=64, g_hidden=(32,), d_hidden=(32,))
        result = {"throughput": bench_throughput(steps=20, rounds=1, data_root=data_root),
                  "time_to_quality": bench_time_to_quality(
                      CGANSettings(eval_every=20, eval_n=100, cap_seconds=0.5), data_root, fid_n=200),
                  "toys": bench_toys(tiny, tiny, seconds=0.2)}
    else:
        result = {"throughput": bench_throughput(steps=300, rounds=3, data_root=data_root),
                  "time_to_quality": bench_time_to_quality(CGAN_SETTINGS, data_root),
                  "toys": bench_toys()}
    result["thread_report"] = thread_report(steps=1, kinds=("mlp",), warmup=1) if quick else thread_report(steps=20)
    result.update(quick=quick, threads=torch.get_num_threads(), total_seconds=time.perf_counter() - start,
                  machine_info=machine_info(),
                  machine=f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
                  ring_settings=asdict(RING_TARGET_SETTINGS), grid_settings=asdict(GRID_SETTINGS),
                  toy_seconds=TOY_SECONDS, zoo_settings=zoo.DEFAULT_SETTINGS)
    result = _finite(result)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(result, indent=2, allow_nan=False))
    md = to_markdown(result)
    (out_dir / "results.md").write_text(md)
    print(md)
    return result


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gantutor.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    parser.add_argument("--out", default="bench", help="folder for results.json and results.md")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: gantutor's, see gantutor.threads)")
    args = parser.parse_args(argv)
    run(args.quick, args.out, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
