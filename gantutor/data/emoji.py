"""Emoji in two styles, Google and Twitter, as in-memory uint8 tensors (the colour data of chapters 7-9).

The npm packages ``emoji-datasource-google`` and ``emoji-datasource-twitter`` (version 16) describe the
same 1,911 emoji plus 1,875 skin-tone variants in ``emoji.json`` (name, category, ``unified`` codepoint,
position on a sprite sheet) and draw them on sprite sheets ``img/<style>/sheets/<size>.png``: a grid of
cells of ``size + 2`` pixels whose outer pixel is padding. One codepoint exists in both styles, so the
two styles are two image domains whose true pairs are known (chapter 9 translates between them).

Where the files come from, in order: the ``root`` argument; ``$GANTUTOR_DATA/emoji-datasource-<style>/``;
``node_modules/emoji-datasource-<style>/`` beside the package's source checkout or in the current folder
or one of its parents (``make assets`` / ``npm ci`` put them there); the cache folder
``~/.cache/gantutor/emoji-datasource-<style>/``; and, when online (Colab), a download of only
``emoji.json`` and the one sprite sheet from the jsDelivr mirror of the npm package into that cache.
The cut images are cached as a uint8 ``.pt`` in ``~/.cache/gantutor`` so the second load is fast.

LICENCES: the packaging (``emoji.json``, the sheets' layout) is MIT (Cal Henderson, iamcal/emoji-data);
Google's art (Noto Emoji) is Apache-2.0; Twitter's art (Twemoji) is CC-BY 4.0 and must be attributed on
every page that shows it: print :data:`ATTRIBUTION`. The Apple and Facebook sets are never used.
"""
from __future__ import annotations

import json
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch

from .mnist import CACHE_DIR, DataNotFoundError
from .. import validate as V
from .sampler import TensorSampler

STYLES = ("google", "twitter")
SIZES = (32, 64)
VERSION = "16.0.0"
MIRROR = "https://cdn.jsdelivr.net/npm/emoji-datasource-{style}@{version}/"
ATTRIBUTION = (
    "Emoji art: Google's [Noto Emoji](https://github.com/googlefonts/noto-emoji) (Apache-2.0) and "
    "Twitter's [Twemoji](https://github.com/twitter/twemoji) (© Twitter, Inc. and other contributors, "
    "[CC-BY 4.0](https://creativecommons.org/licenses/by/4.0/)), as packaged by "
    "[emoji-data](https://github.com/iamcal/emoji-data) (MIT).")
NO_DATA_MESSAGE = (
    "The {style} emoji ({size} px) were not found and could not be downloaded: run "
    "`npm install emoji-datasource-google@16 emoji-datasource-twitter@16` in the book's folder (or "
    "`make assets`), or set GANTUTOR_DATA to a folder holding emoji-datasource-google/ and "
    "emoji-datasource-twitter/ as npm installs them{reason}.")
_TONES = {"1F3FB": "light", "1F3FC": "medium-light", "1F3FD": "medium", "1F3FE": "medium-dark", "1F3FF": "dark"}


@dataclass
class EmojiData:
    """One style at one size: ``images`` uint8 [N, 3, S, S] (alpha composited on white), and per image
    its ``codepoints`` (emoji.json's ``unified``, e.g. ``"1F385-1F3FB"``), ``names`` and ``categories``."""

    images: torch.Tensor
    codepoints: List[str]
    names: List[str]
    categories: List[str]
    style: str
    size: int

    def __len__(self) -> int:
        return self.images.shape[0]

    def index(self, codepoints: Sequence[str]) -> torch.Tensor:
        """Row numbers [len(codepoints)] of the given codepoints, in the order given."""
        where = {c: i for i, c in enumerate(self.codepoints)}
        missing = [c for c in codepoints if c not in where]
        if missing:
            raise ValueError(f"codepoints: {len(missing)} not drawn in the {self.style} style, e.g. {missing[:3]}")
        return torch.tensor([where[c] for c in codepoints], dtype=torch.long)


def _check_style(style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"style: expected one of {STYLES}, got {style!r} (Apple and Facebook art are not used)")
    return style


def _check_size(size: int) -> int:
    if isinstance(size, bool) or size not in SIZES:
        raise ValueError(f"size: expected one of {SIZES} (pixels), got {size!r}")
    return int(size)


def _package_dirs(style: str, root: Optional[str]) -> List[Path]:
    """Folders that may hold the npm package ``emoji-datasource-<style>``, in the order searched."""
    name = f"emoji-datasource-{style}"
    if root is not None:
        root = Path(root).expanduser()
        return [root, root / name, root / "node_modules" / name]
    dirs = []
    if os.environ.get("GANTUTOR_DATA"):
        data = Path(os.environ["GANTUTOR_DATA"]).expanduser()
        dirs += [data / name, data / "node_modules" / name]
    here = Path(__file__).resolve().parents[2]  # the checkout holding gantutor/ when installed editable
    cwd = Path.cwd().resolve()
    for folder in (here, cwd, *cwd.parents):
        d = folder / "node_modules" / name
        if d not in dirs:
            dirs.append(d)
    dirs.append(CACHE_DIR / name)
    return dirs


def _has_files(folder: Path, style: str, size: Optional[int]) -> bool:
    if not (folder / "emoji.json").is_file():
        return False
    return size is None or (folder / "img" / style / "sheets" / f"{size}.png").is_file()


def _download_file(url: str, target: Path) -> None:
    """Fetch ``url`` into ``target`` atomically (a temporary file in the same folder, then rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(1 << 20):
                f.write(chunk)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _download(style: str, size: Optional[int]) -> Path:
    """Download emoji.json (and the ``size`` sheet) of version 16 from the mirror into the cache."""
    folder = CACHE_DIR / f"emoji-datasource-{style}"
    base = MIRROR.format(style=style, version=VERSION)
    wanted = ["emoji.json"] + ([f"img/{style}/sheets/{size}.png"] if size is not None else [])
    for rel in wanted:
        if not (folder / rel).is_file():
            _download_file(base + rel, folder / rel)
    return folder


def locate(style: str = "google", size: Optional[int] = 32, root: Optional[str] = None,
           download: bool = True) -> Path:
    """The folder of the npm package ``emoji-datasource-<style>`` holding emoji.json (and the ``size``
    sprite sheet unless ``size`` is None); downloads into the cache when allowed and needed."""
    _check_style(style)
    if size is not None:
        _check_size(size)
    for folder in _package_dirs(style, root):
        if _has_files(folder, style, size):
            return folder
    if download and root is None:
        try:
            return _download(style, size)
        except Exception as exc:  # offline, proxy, HTTP error: all mean the same to a reader
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DataNotFoundError(NO_DATA_MESSAGE.format(style=style, size=size or 32,
                                                           reason=f" (download failed: {reason})")) from None
    raise DataNotFoundError(NO_DATA_MESSAGE.format(style=style, size=size or 32, reason=""))


@lru_cache(maxsize=None)
def _entries(folder: str, style: str) -> tuple:
    """(codepoint, name, category, sheet_x, sheet_y) of every emoji and skin-tone variant drawn in
    ``style``, in emoji.json's order (each base emoji followed by its variants)."""
    with open(Path(folder) / "emoji.json", encoding="utf-8") as f:
        table = json.load(f)
    rows = []
    for e in sorted(table, key=lambda e: e.get("sort_order", 0)):
        name = e.get("name") or e.get("short_name") or e["unified"]
        if e.get(f"has_img_{style}", False):
            rows.append((e["unified"], name, e["category"], e["sheet_x"], e["sheet_y"]))
        for key, v in (e.get("skin_variations") or {}).items():
            if v.get(f"has_img_{style}", False):
                tones = ", ".join(_TONES.get(t, t) for t in key.split("-"))
                rows.append((v["unified"], f"{name} ({tones} skin tone)", e["category"], v["sheet_x"], v["sheet_y"]))
    return tuple(rows)


def _cut_sheet(sheet_path: Path, entries: tuple, size: int) -> torch.Tensor:
    """Cut the cells at (sheet_x, sheet_y) from an RGBA sheet and composite them on white:
    rgb' = rgb * a + 255 * (1 - a), with a = alpha / 255; returns uint8 [N, 3, size, size]."""
    from PIL import Image

    with Image.open(sheet_path) as im:
        sheet = np.asarray(im.convert("RGBA"))
    cell = size + 2
    xs = np.array([e[3] for e in entries]) * cell + 1
    ys = np.array([e[4] for e in entries]) * cell + 1
    offs = np.arange(size)
    if ys.max() + size > sheet.shape[0] or xs.max() + size > sheet.shape[1]:
        raise ValueError(f"{sheet_path} ({sheet.shape[1]}x{sheet.shape[0]}) is too small for emoji.json's "
                         f"positions at {size} px: is it the {size} px sheet of version 16?")
    cells = sheet[(ys[:, None] + offs)[:, :, None], (xs[:, None] + offs)[:, None, :]]  # [N, S, S, 4]
    rgb, alpha = cells[..., :3].astype(np.float32), cells[..., 3:].astype(np.float32) / 255.0
    out = np.rint(rgb * alpha + 255.0 * (1.0 - alpha)).clip(0, 255).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(out.transpose(0, 3, 1, 2)))


def _cache_file(style: str, size: int) -> Path:
    return CACHE_DIR / f"emoji-{style}-{size}-v{VERSION}.pt"


def _fingerprint(folder: Path, style: str, size: int) -> List[int]:
    return [(folder / "emoji.json").stat().st_size,
            (folder / "img" / style / "sheets" / f"{size}.png").stat().st_size]


@lru_cache(maxsize=8)
def _load(style: str, size: int, root: Optional[str], download: bool) -> EmojiData:
    from ..train.checkpoint import atomic_save

    cache = _cache_file(style, size)
    try:
        folder = locate(style, size, root, download=download)
    except DataNotFoundError:
        if root is None and cache.is_file():  # the cut images alone suffice
            folder = None
        else:
            raise
    stamp = _fingerprint(folder, style, size) if folder is not None else None
    if cache.is_file() and root is None:
        try:
            saved = torch.load(cache, map_location="cpu", weights_only=True)
            if stamp is None or saved["fingerprint"] == stamp:
                return EmojiData(saved["images"], saved["codepoints"], saved["names"], saved["categories"],
                                 style, size)
        except Exception:  # a stale or damaged cache is rebuilt, never trusted
            pass
    if folder is None:
        raise DataNotFoundError(NO_DATA_MESSAGE.format(style=style, size=size, reason=""))
    entries = _entries(str(folder), style)
    images = _cut_sheet(folder / "img" / style / "sheets" / f"{size}.png", entries, size)
    data = EmojiData(images, [e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries], style, size)
    if root is None:
        try:
            atomic_save({"images": images, "codepoints": data.codepoints, "names": data.names,
                         "categories": data.categories, "fingerprint": stamp}, cache)
        except OSError:  # a read-only home folder only costs speed
            pass
    return data


def load_emoji(style: str = "google", size: int = 32, root: Optional[str] = None,
               download: bool = True) -> EmojiData:
    """Every emoji (with skin-tone variants) drawn in ``style`` ("google" or "twitter") at ``size``
    (32 or 64) pixels: uint8 [N, 3, S, S] on white, with codepoints, names and categories.

    Loaded once per process (cached) and cut images kept in ``~/.cache/gantutor``. Raises
    :class:`~gantutor.data.DataNotFoundError` with one sentence saying what to do when the npm
    package is neither on disk nor downloadable. Show :data:`ATTRIBUTION` beside Twitter images.
    """
    return _load(_check_style(style), _check_size(size), None if root is None else str(V.path_like("root", root)),
                 V.boolean("download", download))


def common_codepoints(root: Optional[str] = None, download: bool = True) -> List[str]:
    """Codepoints drawn in both styles, in the Google package's order (so a Google image and a
    Twitter image at the same position of ``emoji_sampler(..., codepoints=common_codepoints())`` are
    the same emoji)."""
    if root is not None:
        V.path_like("root", root)
    google = _entries(str(locate("google", None, root, download)), "google")
    twitter = {e[0] for e in _entries(str(locate("twitter", None, root, download)), "twitter")}
    return [e[0] for e in google if e[0] in twitter]


def emoji_sampler(style: str = "google", size: int = 32, codepoints: Optional[Sequence[str]] = None,
                  root: Optional[str] = None) -> TensorSampler:
    """Emoji of one style as a :class:`TensorSampler` over [-1, 1] images [3, S, S], batched by
    indexing; ``codepoints`` keeps those emoji, in the order given."""
    if codepoints is not None and (isinstance(codepoints, (str, bytes)) or not hasattr(codepoints, "__iter__")
                                   or len(list(codepoints)) == 0):
        V.fail("codepoints", "a non-empty list of codepoints such as ['1F600']", V.describe(codepoints),
               f"for one emoji write [{codepoints!r}]" if isinstance(codepoints, str) else None, error=TypeError)
    data = load_emoji(style, size, root)
    images = data.images if codepoints is None else data.images[data.index(list(codepoints))]
    return TensorSampler(images)
