"""Recipe ``cyclegan-emoji`` (chapter 9): a CycleGAN from Google-style (X) to Twitter-style (Y) emoji.

The emoji are split by :func:`gantutor.metrics.translation.unpaired_split`: X holds the Google drawings
of one half of the emoji, Y the Twitter drawings of the other half (so no pair is ever seen), and 10% of
the emoji are held out in both styles for measuring translations against their true twins. The model
is the chapter's: two :class:`~gantutor.models.cyclegan.ResnetGenerator` (ngf 16, 4 residual blocks,
resize-convolution), two PatchGAN discriminators (ndf 32, two stride-2 layers), the paper's losses and
settings (lambda 10, identity 0.5 lambda, history buffer 50, Adam 2e-4 with betas (0.5, 0.999), constant
for half the run then linear to 0), batch 8. The shipped network is both generators
(:class:`~gantutor.models.cyclegan.CycleGenerators`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data import TensorSampler, to_signed
from ..models.cyclegan import CycleGenerators, PatchDiscriminator, emoji_generators
from ..models.cyclegan_game import CycleGANGame, cyclegan_config
from ..train.core import GameTrainer
from . import Recipe

SETTINGS = dict(ngf=16, n_blocks=4, ndf=32, d_layers=2, batch_size=8, lr=2e-4, steps=500, test_share=0.1,
                split_seed=0, seed=0)


@dataclass
class EmojiTranslationData:
    """uint8 images [N, 3, 32, 32]: ``x_train`` (Google, X codepoints), ``y_train`` (Twitter, Y
    codepoints), ``x_test`` and ``y_test`` (the held-out emoji in both styles, row i the same emoji)."""
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    split: object
    names: list


def emoji_translation_data(test_share: float = 0.1, seed: int = 0) -> EmojiTranslationData:
    """Load both styles at 32 px and split them as the module docstring says."""
    from ..data.emoji import common_codepoints, load_emoji
    from ..metrics.translation import unpaired_split

    google, twitter = load_emoji("google", 32), load_emoji("twitter", 32)
    split = unpaired_split(common_codepoints(), test_share, seed)
    test_rows = google.index(split.test)
    return EmojiTranslationData(google.images[google.index(split.x)], twitter.images[twitter.index(split.y)],
                                google.images[test_rows], twitter.images[twitter.index(split.test)], split,
                                [google.names[i] for i in test_rows.tolist()])


def build(upsample: str = "resize") -> CycleGenerators:
    return emoji_generators(SETTINGS["ngf"], SETTINGS["n_blocks"], upsample)


def make_game(data: EmojiTranslationData, upsample: str = "resize", **game_kwargs) -> CycleGANGame:
    """The recipe's CycleGAN game on ``data``: G, F, then D_X, D_Y, built in this order (so that every
    variant draws its initial weights the same way after one seeding); ``upsample`` ("resize" or
    "transposed") goes to the generators, ``game_kwargs`` to :class:`CycleGANGame`."""
    pair = build(upsample)
    D_X = PatchDiscriminator(3, SETTINGS["ndf"], SETTINGS["d_layers"])
    D_Y = PatchDiscriminator(3, SETTINGS["ndf"], SETTINGS["d_layers"])
    return CycleGANGame(pair.G, pair.F, D_X, D_Y, TensorSampler(data.x_train), TensorSampler(data.y_train),
                        **game_kwargs)


def train(tiny: bool):
    from ..metrics.translation import translation_scores

    s = SETTINGS
    torch.manual_seed(s["seed"])
    data = emoji_translation_data(s["test_share"], s["split_seed"])
    steps = 3 if tiny else s["steps"]
    game = make_game(data)
    trainer = GameTrainer(game, cyclegan_config(steps, batch_size=s["batch_size"], lr_g=s["lr"], lr_d=s["lr"],
                                                seed=s["seed"], device="cpu", log_every=1 if tiny else 25))
    trainer.run()
    pair = game.generator.eval()
    x, y = to_signed(data.x_test), to_signed(data.y_test)
    with torch.no_grad():
        g_scores, f_scores = translation_scores(pair.G(x), y), translation_scores(pair.F(y), x)
    info = dict(steps=steps, settings=dict(s), n_x=len(data.x_train), n_y=len(data.y_train), n_test=len(x),
                g_l1=g_scores.l1, g_psnr=g_scores.psnr, g_retrieval=g_scores.retrieval,
                f_l1=f_scores.l1, f_psnr=f_scores.psnr, f_retrieval=f_scores.retrieval)
    return CycleGenerators(pair.G, pair.F), trainer.history.as_dict(), info


RECIPES = {"cyclegan-emoji": Recipe(
    "cyclegan-emoji", "ch09_cyclegan",
    "CycleGAN, Google-style <-> Twitter-style emoji at 32 px (disjoint codepoints, 10% held out)",
    build, train)}
