"""Shared test settings: a non-interactive matplotlib backend, CPU threads, and the MNIST folder."""
import os
from pathlib import Path

os.environ["MPLBACKEND"] = "Agg"  # before anything imports matplotlib.pyplot

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)

MNIST_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _has_mnist(folder: Path) -> bool:
    raw = folder / "MNIST" / "raw"
    return all((raw / s).is_file() or (raw / (s + ".gz")).is_file() for s in MNIST_STEMS)


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The folder holding MNIST/raw/* (GANTUTOR_DATA, else ../shared/data); skips only if absent."""
    folder = Path(os.environ.get("GANTUTOR_DATA") or DEFAULT_DATA).expanduser()
    if not _has_mnist(folder):
        pytest.skip(f"MNIST IDX files not found under {folder}/MNIST/raw (set GANTUTOR_DATA)")
    return folder
