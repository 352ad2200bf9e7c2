"""gantutor.data.emoji (the two-style emoji loader) and gantutor.metrics.emoji (its feature network).

Tests on the real sprite sheets skip only when the npm packages are absent (run `make assets`); the
compositing, download and error paths run on a tiny synthetic package written here."""
import json
import urllib.error

import numpy as np
import pytest
import torch

from gantutor.data import DataNotFoundError, emoji
from gantutor.data.emoji import common_codepoints, emoji_sampler, load_emoji


def _installed(style: str) -> bool:
    try:
        emoji.locate(style, 32, download=False)
        return True
    except DataNotFoundError:
        return False


needs_packages = pytest.mark.skipif(not (_installed("google") and _installed("twitter")),
                                    reason="npm packages emoji-datasource-google/-twitter@16 not installed "
                                           "(run `make assets` or `npm ci --ignore-scripts`)")


@pytest.fixture(autouse=True)
def _fresh_cache():
    emoji._load.cache_clear()
    emoji._entries.cache_clear()
    yield
    emoji._load.cache_clear()
    emoji._entries.cache_clear()


def fake_package(folder, style="google", size=32):
    """A two-emoji package: cell (0, 0) opaque red with one fully transparent pixel at (row 3, col 5)
    and one half-transparent blue pixel at (row 7, col 2); cell (1, 0) a skin-tone variant, all green."""
    cell = size + 2
    sheet = np.zeros((2 * cell, 2 * cell, 4), np.uint8)
    sheet[1:1 + size, 1:1 + size] = (200, 10, 20, 255)
    sheet[1 + 3, 1 + 5] = (0, 0, 0, 0)
    sheet[1 + 7, 1 + 2] = (0, 0, 100, 128)
    sheet[1:1 + size, cell + 1:cell + 1 + size] = (0, 150, 0, 255)
    sheet[0, :] = (9, 9, 9, 255)  # padding must never leak into a cell
    from PIL import Image

    path = folder / "img" / style / "sheets" / f"{size}.png"
    path.parent.mkdir(parents=True)
    Image.fromarray(sheet, "RGBA").save(path)
    entry = {"name": "THUMBS UP SIGN", "unified": "1F44D", "category": "People & Body", "sheet_x": 0,
             "sheet_y": 0, "sort_order": 1, f"has_img_{style}": True,
             "skin_variations": {"1F3FB": {"unified": "1F44D-1F3FB", "sheet_x": 1, "sheet_y": 0,
                                           f"has_img_{style}": True}}}
    missing = {"name": "NOT DRAWN", "unified": "1F9FF", "category": "Objects", "sheet_x": 1, "sheet_y": 1,
               "sort_order": 2, f"has_img_{style}": False}
    (folder / "emoji.json").write_text(json.dumps([entry, missing]))
    return folder


def test_white_compositing_and_cells(tmp_path):
    data = load_emoji("google", 32, root=str(fake_package(tmp_path)))
    assert data.images.dtype == torch.uint8 and tuple(data.images.shape) == (2, 3, 32, 32)
    assert data.codepoints == ["1F44D", "1F44D-1F3FB"]  # the entry without Google art is skipped
    assert data.names[1] == "THUMBS UP SIGN (light skin tone)" and data.categories == ["People & Body"] * 2
    assert data.images[0, :, 3, 5].tolist() == [255, 255, 255]  # transparent -> white
    a = 128 / 255  # half-transparent blue over white: round(c * a + 255 * (1 - a))
    assert data.images[0, :, 7, 2].tolist() == [round(255 * (1 - a)), round(255 * (1 - a)), round(100 * a + 255 * (1 - a))]
    assert data.images[0, :, 0, 0].tolist() == [200, 10, 20]  # padding row excluded
    assert (data.images[1] == torch.tensor([0, 150, 0], dtype=torch.uint8)[:, None, None]).all()


def test_download_path_writes_only_the_needed_files(tmp_path, monkeypatch):
    mirror = fake_package(tmp_path / "mirror" / "emoji-datasource-google")
    monkeypatch.setattr(emoji, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(emoji, "_package_dirs", lambda style, root: [tmp_path / "nowhere"])
    monkeypatch.setattr(emoji, "MIRROR", (tmp_path / "mirror").as_uri() + "/emoji-datasource-{style}/")
    data = load_emoji("google", 32)
    assert len(data) == 2
    files = sorted(p.relative_to(tmp_path / "cache").as_posix() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert files == ["emoji-datasource-google/emoji.json", "emoji-datasource-google/img/google/sheets/32.png",
                     "emoji-google-32-v16.0.0.pt"]
    assert not list((tmp_path / "cache").rglob("*.tmp"))
    (mirror / "emoji.json").unlink()  # the second load reads the cache, never the mirror
    emoji._load.cache_clear()
    assert torch.equal(load_emoji("google", 32).images, data.images)


def test_missing_data_is_one_sentence(tmp_path, monkeypatch):
    def offline(url, target):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(emoji, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(emoji, "_package_dirs", lambda style, root: [tmp_path / "nowhere"])
    monkeypatch.setattr(emoji, "_download_file", offline)
    with pytest.raises(DataNotFoundError) as info:
        load_emoji("twitter", 32)
    message = str(info.value)
    assert "npm install emoji-datasource-google@16 emoji-datasource-twitter@16" in message
    assert "GANTUTOR_DATA" in message and "no network" in message
    assert message.count(". ") == 0 and message.endswith("(download failed: <urlopen error no network>).")
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").rglob("*.png"))


@pytest.mark.parametrize("kwargs, word", [({"style": "apple"}, "style"), ({"style": "Google"}, "style"),
                                          ({"size": 16}, "size"), ({"size": "32"}, "size"),
                                          ({"size": True}, "size")])
def test_bad_names_raise_naming_the_argument(kwargs, word):
    with pytest.raises(ValueError, match=rf"^{word}: expected one of"):
        load_emoji(**kwargs)


@needs_packages
@pytest.mark.parametrize("style", ["google", "twitter"])
def test_real_sheets_shapes(style):
    data = load_emoji(style, 32)
    assert data.images.dtype == torch.uint8 and tuple(data.images.shape[1:]) == (3, 32, 32)
    assert len(data) == len(data.codepoints) == len(data.names) == len(data.categories) == 3786
    assert len(set(data.codepoints)) == len(data)
    assert sum("skin tone" in n for n in data.names) == 1875
    # every cell shows something on white (only white squares and circles are nearly blank), and
    # the corner pixel is mostly the white background (measured: 99% Google, 89% Twitter, whose
    # flags and keycaps fill the cell), as are about a third of all pixels
    blank = (data.images.flatten(1).float().std(1) < 10).nonzero().flatten().tolist()
    assert len(blank) <= 3 and all("WHITE" in data.names[i] for i in blank)
    assert (data.images[:, :, 0, 0] == 255).all(1).float().mean() > 0.8
    assert (data.images == 255).all(1).float().mean() > 0.25
    x, y = emoji_sampler(style, 32).sample(16, torch.Generator().manual_seed(0))
    assert y is None and tuple(x.shape) == (16, 3, 32, 32) and x.min() >= -1 and x.max() <= 1


@needs_packages
def test_real_sheets_64_px_match_32_px_downscaled():
    big, small = load_emoji("google", 64), load_emoji("google", 32)
    assert tuple(big.images.shape) == (3786, 3, 64, 64) and big.codepoints == small.codepoints
    down = torch.nn.functional.avg_pool2d(big.images.float(), 2)
    assert (down - small.images.float()).abs().mean() < 12  # same emoji, same place on both sheets


@needs_packages
def test_common_codepoints_align_across_styles():
    common = common_codepoints()
    assert len(common) == 3786 and len(set(common)) == len(common)
    g, t = load_emoji("google"), load_emoji("twitter")
    gi, ti = g.index(common), t.index(common)
    assert [g.codepoints[i] for i in gi] == [t.codepoints[i] for i in ti] == common
    assert [g.categories[i] for i in gi] == [t.categories[i] for i in ti]
    pick = common[::20]  # across all categories
    pair_g = emoji_sampler("google", codepoints=pick).images.float()
    pair_t = emoji_sampler("twitter", codepoints=pick).images.float()
    # the same emoji in two styles are closer (mean abs pixel difference) than unrelated emoji
    same = (pair_g - pair_t).abs().mean((1, 2, 3))
    other = (pair_g - pair_t.roll(len(pick) // 2, 0)).abs().mean((1, 2, 3))
    assert (same < other).float().mean() > 0.9
    with pytest.raises(ValueError, match="codepoints"):
        g.index(["NOT-A-CODEPOINT"])


# -- the emoji feature network (gantutor.metrics.emoji) ---------------------------------------------
from gantutor.data import to_signed  # noqa: E402
from gantutor.metrics import emoji as emoji_metrics  # noqa: E402

# measured by `python -m gantutor.metrics.emoji train` (seed 0) on the held-out emoji: see the report
STYLE_ACCURACY_FLOOR = 0.92  # measured 0.945 (Google) and 0.954 (Twitter) at 32 px


def test_feature_weights_are_small_half_and_safe():
    assert emoji_metrics.WEIGHTS.stat().st_size < 1_000_000
    saved = torch.load(emoji_metrics.WEIGHTS, map_location="cpu", weights_only=True)
    assert {v.dtype for v in saved["state"].values() if v.is_floating_point()} == {torch.float16}
    net = emoji_metrics.EmojiFeatureNet()
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state"].items()})
    assert saved["info"]["style_accuracy"] >= STYLE_ACCURACY_FLOOR and saved["info"]["category_accuracy"] > 0.8


def test_feature_net_shapes_and_input_errors():
    x = torch.rand(5, 3, 32, 32) * 2 - 1
    assert tuple(emoji_metrics.emoji_features(x).shape) == (5, emoji_metrics.FEATURE_DIM)
    p = emoji_metrics.style_probability(x)
    assert tuple(p.shape) == (5,) and ((p >= 0) & (p <= 1)).all()
    big = x.repeat_interleave(2, 2).repeat_interleave(2, 3)  # 64 px, each pixel doubled: same as x
    torch.testing.assert_close(emoji_metrics.emoji_features(big), emoji_metrics.emoji_features(x))
    with pytest.raises(ValueError, match=r"^images: expected floats in \[-1, 1\], got torch.uint8"):
        emoji_metrics.emoji_features(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"^images: expected a float tensor \[N, 3, 32, 32\].*got torch.float32 \[2, 1, 28, 28\]"):
        emoji_metrics.style_probability(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"^images: expected values in \[-1, 1\]"):
        emoji_metrics.emoji_features(x * 3)
    with pytest.raises(ValueError, match="^style: expected 'google' or 'twitter'"):
        emoji_metrics.style_accuracy(x, "apple")
    with pytest.raises(ValueError, match="^reference: expected 'google', 'twitter'"):
        emoji_metrics.emoji_fid(x, "apple")


def test_held_out_split_keeps_skin_tones_together():
    cps = ["1F44D", "1F44D-1F3FB", "1F44D-1F3FF", "1F600", "1F601", "1F602", "1F603", "1F604"]
    test = emoji_metrics.held_out_codepoints(cps, fraction=0.5)
    assert len({emoji_metrics.base_codepoint(c) for c in test}) == 3
    assert ("1F44D" in test) == ("1F44D-1F3FB" in test) == ("1F44D-1F3FF" in test)


@needs_packages
def test_style_classifier_on_held_out_codepoints():
    for style in ("google", "twitter"):
        data = load_emoji(style, 32)
        test = emoji_metrics.held_out_codepoints(data.codepoints)
        x = to_signed(data.images[data.index(sorted(test))])
        assert len(x) > 500
        assert emoji_metrics.style_accuracy(x, style) >= STYLE_ACCURACY_FLOOR, style


@needs_packages
def test_emoji_fid_of_a_set_with_itself_is_zero_and_styles_differ():
    pick = torch.randperm(3786, generator=torch.Generator().manual_seed(1))[:600]
    google = to_signed(load_emoji("google", 32).images[pick])
    twitter = to_signed(load_emoji("twitter", 32).images[pick])
    assert emoji_metrics.emoji_fid(google, google).fid < 1e-3
    same, other = emoji_metrics.emoji_fid(google, "google"), emoji_metrics.emoji_fid(google, "twitter")
    assert same.n == 600 and same.baseline > 0 and "not Inception FID" in str(same)
    assert same.fid < 2 * same.baseline + 1e-9 < other.fid  # real Google emoji are far from Twitter's
