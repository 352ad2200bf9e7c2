"""gantutor.data: IDX reader, MNIST loading (root, GANTUTOR_DATA, errors), samplers and toy sets."""
import gzip
import math
import struct
import time

import numpy as np
import pytest
import torch

from gantutor import data
from gantutor.data import DataNotFoundError, TensorSampler, grid25, load_mnist, read_idx, ring8


def idx_bytes(arr: np.ndarray, magic_type: int = 0x08) -> bytes:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = bytes([0, 0, magic_type, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.tobytes()


def write_idx(path, arr, gz=False):
    raw = idx_bytes(arr)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        path.write_bytes(raw)
    return path


def fake_mnist(folder, n_train=12, n_test=5, gz=False, seed=0):
    """Tiny IDX files laid out as folder/MNIST/raw/... (images [n, 28, 28], labels [n])."""
    rng = np.random.default_rng(seed)
    raw = folder / "MNIST" / "raw"
    out = {}
    for train, n in ((True, n_train), (False, n_test)):
        img_stem, lab_stem = data.MNIST_FILES[train]
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        sfx = ".gz" if gz else ""
        write_idx(raw / (img_stem + sfx), images, gz)
        write_idx(raw / (lab_stem + sfx), labels, gz)
        out[train] = (images, labels)
    return out


@pytest.fixture
def no_data(monkeypatch, tmp_path):
    """No GANTUTOR_DATA and an empty cache folder."""
    monkeypatch.delenv("GANTUTOR_DATA", raising=False)
    cache = tmp_path / "empty_cache"
    cache.mkdir()
    monkeypatch.setattr(data.mnist, "CACHE_DIR", cache)
    return cache


# -- IDX reader -------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 28, 28)])
def test_read_idx_roundtrip(tmp_path, gz, shape):
    arr = np.random.default_rng(1).integers(0, 256, size=shape, dtype=np.uint8)
    path = write_idx(tmp_path / ("x.idx" + (".gz" if gz else "")), arr, gz)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("header", [b"\x00\x00\x0d\x01", b"\x08\x00\x08\x01", b"\x00"])
def test_read_idx_bad_magic(tmp_path, header):
    path = tmp_path / "bad.idx"
    path.write_bytes(header + struct.pack(">I", 3) + b"abc")
    with pytest.raises(ValueError, match="magic"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated(tmp_path, gz):
    raw = idx_bytes(np.zeros((4, 5, 6), dtype=np.uint8))[:-7]
    path = tmp_path / ("t.idx" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_read_idx_truncated_header(tmp_path):
    path = tmp_path / "h.idx"
    path.write_bytes(idx_bytes(np.zeros((4, 5, 6), dtype=np.uint8))[:10])
    with pytest.raises(ValueError):
        read_idx(path)


# -- load_mnist -------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_from_root(tmp_path, no_data, gz):
    arrays = fake_mnist(tmp_path / "d", gz=gz)
    for train in (True, False):
        m = load_mnist(str(tmp_path / "d"), train=train, download=False)
        images, labels = arrays[train]
        assert m.images.dtype == torch.uint8 and tuple(m.images.shape) == images.shape
        assert m.labels.dtype == torch.int64 and len(m) == len(labels)
        np.testing.assert_array_equal(m.images.numpy(), images)
        np.testing.assert_array_equal(m.labels.numpy(), labels)


def test_load_mnist_from_env(tmp_path, no_data, monkeypatch):
    arrays = fake_mnist(tmp_path / "env", n_train=9)
    monkeypatch.setenv("GANTUTOR_DATA", str(tmp_path / "env"))
    m = load_mnist(download=False)
    assert len(m) == 9
    np.testing.assert_array_equal(m.images.numpy(), arrays[True][0])
    # root wins over the environment
    fake_mnist(tmp_path / "root", n_train=4, seed=1)
    assert len(load_mnist(str(tmp_path / "root"), download=False)) == 4


def test_load_mnist_mismatched_files(tmp_path, no_data):
    fake_mnist(tmp_path)
    stem = data.MNIST_FILES[True][1]
    write_idx(tmp_path / "MNIST" / "raw" / stem, np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="disagree"):
        load_mnist(str(tmp_path), download=False)


def test_missing_without_download(tmp_path, no_data):
    with pytest.raises(DataNotFoundError, match="GANTUTOR_DATA"):
        load_mnist(download=False)
    with pytest.raises(DataNotFoundError, match="GANTUTOR_DATA") as info:
        load_mnist(str(tmp_path / "nowhere"), download=False)
    assert "nowhere" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_missing_with_download_offline(tmp_path, no_data, monkeypatch):
    import torchvision.datasets

    calls = []

    class OfflineMNIST:
        def __init__(self, root, train=True, download=False, **kw):
            calls.append((root, train, download))
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: <urlopen error no network>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", OfflineMNIST)
    t0 = time.perf_counter()
    with pytest.raises(DataNotFoundError, match="GANTUTOR_DATA") as info:
        load_mnist(download=True)
    assert time.perf_counter() - t0 < 5
    assert calls and calls[0][2] is True and calls[0][0] == str(no_data)
    # one message for the reader, not torchvision's stack trace; the reason is kept in the message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "download failed: Error downloading train-images" in str(info.value)


def test_real_mnist(mnist_root):
    train = load_mnist(str(mnist_root), train=True, download=False)
    test = load_mnist(str(mnist_root), train=False, download=False)
    assert len(train) == 60000 and len(test) == 10000
    for m in (train, test):
        assert m.images.dtype == torch.uint8 and tuple(m.images.shape[1:]) == (28, 28)
        assert int(m.labels.min()) == 0 and int(m.labels.max()) == 9
    assert int(train.images.max()) == 255


def test_mnist_sampler_digits(tmp_path, no_data):
    arrays = fake_mnist(tmp_path, n_train=40)
    s = data.mnist_sampler(str(tmp_path), labelled=True, digits=[3, 7])
    labels = arrays[True][1]
    assert len(s) == int(np.isin(labels, [3, 7]).sum()) and s.n_classes == 10
    _, y = s.sample(len(s))
    assert set(y.tolist()) <= {3, 7}
    assert data.mnist_sampler(str(tmp_path)).n_classes == 0


# -- TensorSampler ----------------------------------------------------------------------------------
def _images(n=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=g)
    images[0, 0, 0], images[1, 0, 0] = 0, 255  # both ends of the range
    return images


def test_tensor_sampler_batches():
    images = _images()
    s = TensorSampler(images)
    x, y = s.sample(8)
    assert y is None and x.dtype == torch.float32 and tuple(x.shape) == (8, 1, 28, 28)
    assert s.shape == (1, 28, 28) and s.value_range == (-1.0, 1.0)
    full = data.to_signed(images)
    assert float(full.min()) == -1.0 and float(full.max()) == 1.0
    assert x.min() >= -1 and x.max() <= 1
    torch.testing.assert_close(data.to_uint8(data.to_signed(images)), images)


def test_tensor_sampler_covers_every_image_once_per_epoch():
    n = 24
    images = torch.arange(n, dtype=torch.uint8)[:, None, None].expand(n, 28, 28).contiguous()
    labels = torch.arange(n) % 10
    s = TensorSampler(images, labels, n_classes=10)
    g = torch.Generator().manual_seed(0)
    epochs = []
    for _ in range(3):
        seen = []
        for _ in range(n // 6):
            x, y = s.sample(6, generator=g)
            ids = torch.round((x[:, 0, 0, 0] + 1) * 127.5).long()
            assert torch.equal(y, labels[ids])  # labels travel with their images
            seen += ids.tolist()
        assert sorted(seen) == list(range(n))
        epochs.append(seen)
    assert epochs[0] != epochs[1] and seen != list(range(n))  # shuffled, freshly each epoch


def test_tensor_sampler_bad_args():
    with pytest.raises(ValueError, match="uint8"):
        TensorSampler(torch.zeros(4, 28, 28))
    with pytest.raises(ValueError, match="labels"):
        TensorSampler(_images(4), torch.zeros(3, dtype=torch.long))
    s = TensorSampler(_images(4))
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="positive integer"):
            s.sample(bad)


# -- toy sets ---------------------------------------------------------------------------------------
def test_ring8_means_and_std():
    r = ring8()
    assert r.std == 0.01 and tuple(r.means.shape) == (8, 2)
    torch.testing.assert_close(r.means.norm(dim=1), torch.ones(8))
    angles = torch.atan2(r.means[:, 1], r.means[:, 0]) % (2 * math.pi)
    torch.testing.assert_close(torch.sort(angles).values, torch.arange(8) * (2 * math.pi / 8), atol=1e-5, rtol=0)


def test_grid25_means_and_std():
    g = grid25()
    assert g.std == 0.05
    expected = {(-4.0 + 2 * i, -4.0 + 2 * j) for i in range(5) for j in range(5)}
    assert {tuple(m) for m in g.means.tolist()} == expected and len(g.means) == 25


@pytest.mark.parametrize("mix", [ring8(), grid25(), data.gaussian_mixture_1d([-1, 2], 0.3, [0.25, 0.75])])
def test_samples_match_components(mix):
    g = torch.Generator().manual_seed(0)
    x, y = mix.sample(20000, generator=g)
    assert y is None and tuple(x.shape) == (20000, mix.means.shape[1]) and x.dtype == torch.float32
    nearest = torch.cdist(x, mix.means).argmin(1)
    share = torch.bincount(nearest, minlength=len(mix.means)).float() / len(x)
    torch.testing.assert_close(share, mix.weights, atol=0.015, rtol=0)
    for k in range(len(mix.means)):
        pts = x[nearest == k]
        torch.testing.assert_close(pts.mean(0), mix.means[k], atol=5 * mix.std / math.sqrt(len(pts)), rtol=0)
        assert pts.std(0).numpy() == pytest.approx([mix.std] * x.shape[1], rel=0.15)


def test_density_integrates_to_one():
    xs = torch.linspace(-1.5, 1.5, 301)
    dx = float(xs[1] - xs[0])
    gx, gy = torch.meshgrid(xs, xs, indexing="xy")
    r = ring8(std=0.05)
    total = float(r.density(torch.stack([gx.ravel(), gy.ravel()], 1)).sum()) * dx * dx
    assert total == pytest.approx(1.0, rel=1e-3)
    m = data.gaussian_mixture_1d([-1, 2], 0.3, [0.25, 0.75])
    t = torch.linspace(-5, 6, 4001)
    assert float(m.density(t).sum()) * float(t[1] - t[0]) == pytest.approx(1.0, rel=1e-4)
    peak = float(r.density(r.means[:1]))
    assert peak == pytest.approx(1 / 8 / (2 * math.pi * 0.05 ** 2), rel=1e-3)


def test_toy_bad_args():
    with pytest.raises(ValueError, match="std"):
        ring8(std=0.0)
    with pytest.raises(ValueError, match="std"):
        grid25(std=-1.0)
    with pytest.raises(ValueError, match="weights"):
        data.gaussian_mixture_1d([0, 1], 0.5, [0.5, 0.6])
    with pytest.raises(ValueError, match="weights"):
        data.gaussian_mixture_1d([0, 1], 0.5, [1.5, -0.5])
    with pytest.raises(ValueError, match="weights"):
        data.gaussian_mixture_1d([0, 1], 0.5, [1.0])
    for n in (0, -3, 1.5):
        with pytest.raises(ValueError, match="n"):
            ring8().sample(n)
