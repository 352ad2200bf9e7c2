"""gantutor.models: shapes at tiny width, output activations, and shape/label checks."""
import pytest
import torch
from torch import nn

from gantutor.models import MLPDiscriminator, MLPGenerator
from gantutor.models.mlp import output_activation

TINY = dict(hidden=(8, 16))


@pytest.mark.parametrize("out_shape", [(2,), (1, 28, 28), (3, 4, 5)])
@pytest.mark.parametrize("n_classes", [0, 10])
def test_shapes(out_shape, n_classes):
    torch.manual_seed(0)
    G = MLPGenerator(5, out_shape, n_classes=n_classes, **TINY)
    D = MLPDiscriminator(out_shape, hidden=(16, 8), n_classes=n_classes)
    z = torch.randn(6, 5)
    y = torch.randint(0, 10, (6,)) if n_classes else None
    x = G(z, y)
    assert tuple(x.shape) == (6, *out_shape)
    logits = D(x, y)
    assert tuple(logits.shape) == (6,) and logits.dtype == torch.float32
    logits.sum().backward()
    assert all(p.grad is not None for p in G.parameters())


def test_conditional_output_depends_on_label():
    torch.manual_seed(0)
    G = MLPGenerator(4, (3,), n_classes=3, **TINY)
    D = MLPDiscriminator((3,), hidden=(8,), n_classes=3)
    z = torch.randn(1, 4).expand(3, 4)
    y = torch.arange(3)
    x = G(z, y)
    assert not torch.allclose(x[0], x[1]) and not torch.allclose(x[1], x[2])
    same = torch.zeros(3, 3)
    logits = D(same, y)
    assert not torch.allclose(logits[0], logits[1])


def test_output_activation_by_value_range():
    torch.manual_seed(0)
    big = 100 * torch.randn(64, 3)
    G = MLPGenerator(3, (4,), value_range=(-1.0, 1.0), **TINY)
    out = G(big)
    assert out.abs().max() <= 1 and out.abs().max() > 0.99  # bounded, and saturates
    G01 = MLPGenerator(3, (4,), value_range=(0.0, 1.0), **TINY)
    out01 = G01(big)
    assert out01.min() >= 0 and out01.max() <= 1
    Gnone = MLPGenerator(3, (4,), value_range=None, **TINY)
    assert Gnone(big).abs().max() > 1  # unbounded
    assert isinstance(output_activation(None), nn.Identity)
    assert isinstance(output_activation((-1, 1)), nn.Tanh)
    assert isinstance(output_activation([0, 1]), nn.Sigmoid)
    with pytest.raises(ValueError, match="value_range"):
        output_activation((0, 255))
    with pytest.raises(ValueError, match="value_range"):
        MLPGenerator(3, (4,), value_range=(-2.0, 2.0))


def test_wrong_shapes():
    G = MLPGenerator(5, (2,), **TINY)
    D = MLPDiscriminator((1, 28, 28), hidden=(8,))
    for z in (torch.randn(4, 6), torch.randn(4), torch.randn(2, 4, 5)):
        with pytest.raises(ValueError, match=r"z: expected a float tensor \[N, 5\]"):
            G(z)
    with pytest.raises(ValueError, match=r"x: expected a float tensor \[N, 1, 28, 28\]"):
        D(torch.randn(4, 784))
    with pytest.raises(ValueError, match="latent_dim"):
        MLPGenerator(0, (2,))


@pytest.mark.parametrize("make", [
    lambda nc: (MLPGenerator(3, (2,), n_classes=nc, **TINY), torch.randn(4, 3)),
    lambda nc: (MLPDiscriminator((2,), hidden=(8,), n_classes=nc), torch.randn(4, 2)),
])
def test_label_checks(make):
    model, inp = make(5)
    with pytest.raises(ValueError, match="required"):
        model(inp)
    for bad in (torch.tensor([0, 1, 5, 2]), torch.tensor([0, -1, 2, 3])):
        with pytest.raises(ValueError, match=r"\[0, 5\)"):
            model(inp, bad)
    with pytest.raises(ValueError, match=r"y: expected an integer tensor \[4\]"):
        model(inp, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="integer"):
        model(inp, torch.zeros(4))
    model(inp, torch.tensor([0, 1, 4, 2], dtype=torch.int32))  # int32 labels are fine
    unconditional, inp = make(0)
    with pytest.raises(ValueError, match="unconditional"):
        unconditional(inp, torch.zeros(4, dtype=torch.long))


def test_batchnorm_and_dropout_options():
    G = MLPGenerator(3, (2,), batchnorm=True, **TINY)
    D = MLPDiscriminator((2,), hidden=(8,), dropout=0.5)
    assert any(isinstance(m, nn.BatchNorm1d) for m in G.modules())
    assert any(isinstance(m, nn.Dropout) for m in D.modules())
    D.eval()
    x = torch.randn(4, 2)
    torch.testing.assert_close(D(x), D(x))
