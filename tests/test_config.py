"""gantutor.config: TrainConfig validation, overrides, FAST mode."""
import pytest

from gantutor import config
from gantutor.config import TrainConfig, budget, is_fast


@pytest.mark.parametrize("field,bad", [
    ("steps", -1), ("batch_size", 0), ("k", 0), ("k", 1.5), ("k", True), ("latent_dim", 0),
    ("log_every", 0), ("guard_every", -3), ("lr_g", 0.0), ("lr_d", -1e-3), ("lr_g", float("nan")),
    ("lr_d", "0.1"), ("optimizer", "sgd"), ("clip", -0.01), ("gp_weight", float("nan")), ("k_burst", -1),
    ("k_burst_every", 2.5),
])
def test_rejects_bad_values_naming_the_field(field, bad):
    with pytest.raises(ValueError, match=rf"TrainConfig\.{field}\b"):
        TrainConfig(**{field: bad})


def test_accepts_good_values_and_zero_steps():
    cfg = TrainConfig(steps=0, batch_size=3, k=2, lr_g=1e-3, lr_d=1)
    assert (cfg.steps, cfg.batch_size, cfg.k, cfg.lr_d) == (0, 3, 2, 1)


def test_with_overrides_copies_and_validates():
    base = TrainConfig(k=1)
    new = base.with_overrides(k=5, g_loss="minimax")
    assert (new.k, new.g_loss) == (5, "minimax")
    assert (base.k, base.g_loss) == (1, "nonsaturating")
    with pytest.raises(ValueError, match="TrainConfig.k"):
        base.with_overrides(k=0)


def test_to_dict_is_plain():
    d = TrainConfig(betas=(0.1, 0.2), extra={"a": 1}).to_dict()
    assert d["betas"] == [0.1, 0.2] and isinstance(d["betas"], list)
    assert d["extra"] == {"a": 1}
    assert set(d) >= {"steps", "k", "lr_g", "lr_d", "g_loss", "d_loss", "seed"}


@pytest.mark.parametrize("value,fast", [("1", True), ("true", True), ("YES", True), (" 1 ", True),
                                        ("0", False), ("", False), ("no", False)])
def test_budget_follows_env(monkeypatch, value, fast):
    monkeypatch.setenv("GANTUTOR_FAST", value)
    assert is_fast() is fast
    assert budget(3000, fast=60) == (60 if fast else 3000)
    assert config.budget("full", "fast") == ("fast" if fast else "full")


def test_budget_unset(monkeypatch):
    monkeypatch.delenv("GANTUTOR_FAST", raising=False)
    assert not is_fast()
    assert budget(10, fast=1) == 10
    monkeypatch.setenv("GANTUTOR_FAST", "1")  # read at call time, not at import
    assert budget(10, fast=1) == 1


def test_critic_schedule_of_wgan():
    # Arjovsky et al.'s code: 100 critic steps for the first 25 generator steps and every 500th, else 5
    cfg = TrainConfig(k=5, k_burst=100, k_burst_first=25, k_burst_every=500)
    steps = [cfg.critic_steps(i) for i in range(1200)]
    assert steps[:25] == [100] * 25 and steps[25] == 5 and steps[499] == 5
    assert steps[500] == 100 and steps[1000] == 100 and steps[501] == 5
    assert sum(s == 100 for s in steps) == 27
    assert {TrainConfig(k=3).critic_steps(i) for i in range(600)} == {3}
