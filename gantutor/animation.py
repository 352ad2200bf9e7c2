"""Animations that play on a static web page, light enough for a phone.

Frames are encoded as one H.264 MP4 (yuv420p, played by every browser) with the ffmpeg binary of the
``imageio-ffmpeg`` wheel, else an ``ffmpeg`` on the PATH (Colab has one), and embedded in a ``<video>``
tag as a data URI: no file beside the notebook and no request leaving the page. Without ffmpeg (or with
``GANTUTOR_NO_FFMPEG=1``) the fallback is matplotlib's JavaScript player with at most
``FALLBACK_FRAMES`` JPEG frames at ``FALLBACK_DPI``, its icon font replaced by plain characters (the
original loads Font Awesome from a CDN). Either way the animation carries a text alternative
(``aria-label`` / ``alt``).
"""
from __future__ import annotations

import base64
import html
import io
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import numpy as np

CRF = 32                 # x264 quality (lower is better and larger; 23 is x264's default). 28 -> 32 cut a
                         # noisy 60-frame MNIST-grid replay from 1,672 to ~1,150 KB: a full-budget chapter 1 (its
                         # executed outputs: 2.7 MB + 0.44 MB widget state) was close to the 3 MB page limit
FALLBACK_FRAMES = 24     # most frames kept by the JavaScript fallback
FALLBACK_DPI = 60
ICONS = {"fa-minus": "&minus;", "fa-fast-backward": "&#x23EE;", "fa-step-backward": "&#x23F4;&#x2759;",
         "fa-play fa-flip-horizontal": "&#x25C0;", "fa-pause": "&#x23F8;", "fa-play": "&#x25B6;",
         "fa-step-forward": "&#x2759;&#x23F5;", "fa-fast-forward": "&#x23ED;", "fa-plus": "+"}


def ffmpeg_executable() -> Optional[str]:
    """The ffmpeg to encode with: imageio-ffmpeg's bundled binary, else ``ffmpeg`` on the PATH, else
    None (also when the environment sets ``GANTUTOR_NO_FFMPEG=1``)."""
    if os.environ.get("GANTUTOR_NO_FFMPEG", "").strip().lower() in {"1", "true", "yes"}:
        return None
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # not installed, or no binary for this platform
        return shutil.which("ffmpeg")


def figure_frames(fig, update: Callable[[int], None], indices: Sequence[int]) -> List[np.ndarray]:
    """RGB uint8 arrays [H, W, 3] of ``fig`` (drawn by Agg at ``fig.dpi``, over white) after ``update(i)``
    for each i of ``indices``. Agg draws the whole figure, whatever ``savefig.bbox`` says, so every
    frame has the same size."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    frames = []
    for i in indices:
        update(i)
        canvas.draw()
        rgba = np.asarray(canvas.buffer_rgba()).astype(np.float32) / 255.0
        rgb = rgba[..., :3] * rgba[..., 3:] + (1.0 - rgba[..., 3:])
        frames.append((rgb * 255 + 0.5).astype(np.uint8))
    return frames


def as_uint8_rgb(frame: np.ndarray, name: str = "frame") -> np.ndarray:
    """An image [H, W], [H, W, 3] or [H, W, 4] (floats in [0, 1] or uint8) as uint8 RGB [H, W, 3]."""
    a = np.asarray(frame)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"{name}: expected an image [H, W], [H, W, 3] or [H, W, 4], got shape {a.shape}")
    a = a[..., :3]
    if a.dtype != np.uint8:
        a = (np.clip(a.astype(np.float64), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    return a


def encode_mp4(frames: Sequence[np.ndarray], fps: float, crf: int = CRF, ffmpeg: Optional[str] = None) -> bytes:
    """H.264 MP4 bytes of equally sized RGB frames, padded with white to even sides (yuv420p)."""
    ffmpeg = ffmpeg or ffmpeg_executable()
    if ffmpeg is None:
        raise RuntimeError("ffmpeg: no ffmpeg found (pip install imageio-ffmpeg, or put ffmpeg on the PATH)")
    rgb = [as_uint8_rgb(f, f"frames[{i}]") for i, f in enumerate(frames)]
    if not rgb:
        raise ValueError("frames is empty: record at least one frame before animating")
    h, w = rgb[0].shape[:2]
    for i, f in enumerate(rgb):
        if f.shape[:2] != (h, w):
            raise ValueError(f"frames[{i}]: expected size {h} x {w} like frames[0], got {f.shape[0]} x {f.shape[1]}")
    ph, pw = h + h % 2, w + w % 2
    raw = b"".join(np.pad(f, ((0, ph - h), (0, pw - w), (0, 0)), constant_values=255).tobytes() for f in rgb)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "animation.mp4"
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{pw}x{ph}", "-framerate", f"{fps:.6g}", "-i", "-", "-c:v", "libx264", "-preset", "slow",
               "-tune", "animation", "-crf", str(int(crf)), "-pix_fmt", "yuv420p", "-movflags", "+faststart",
               str(out)]
        proc = subprocess.run(cmd, input=raw, capture_output=True)
        if proc.returncode != 0 or not out.is_file():
            raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-500:]}")
        return out.read_bytes()


def video_html(mp4: bytes, alt: str, width: int) -> str:
    """A looping ``<video>`` with controls, the MP4 inlined, ``alt`` as its accessible name."""
    label = html.escape(alt, quote=True)
    data = base64.b64encode(mp4).decode("ascii")
    return (f'<video class="gantutor-animation" controls loop muted playsinline preload="auto" width="{width}" '
            f'style="max-width:100%;height:auto" aria-label="{label}" title="{label}">\n'
            f'<source type="video/mp4" src="data:video/mp4;base64,{data}">\n{label}\n</video>')


def offline_jshtml(jshtml: str, alt: str) -> str:
    """matplotlib's JavaScript player without its CDN stylesheet: icons as plain characters, the
    frame image with ``alt``."""
    out = re.sub(r'<link[^>]*font-awesome[^>]*>', "", jshtml)
    for cls, char in sorted(ICONS.items(), key=lambda kv: -len(kv[0])):
        out = out.replace(f'<i class="fa {cls}"></i>', f'<span aria-hidden="true">{char}</span>')
    label = html.escape(alt, quote=True)
    return re.sub(r'<img id="(_anim_img[^"]*)"', rf'<img id="\1" alt="{label}"', out, count=1)


def subsample(n: int, keep: int) -> List[int]:
    """At most ``keep`` of the indices 0 .. n-1, evenly spread, always the first and the last."""
    if n <= keep:
        return list(range(n))
    return sorted({int(round(v)) for v in np.linspace(0, n - 1, keep)})


def describe(fig, n_frames: int, first_titles: Sequence[str]) -> str:
    """A default text alternative from what the figure shows: axes titles at the first and last frame,
    axis labels and legend entries (without TeX dollars)."""
    def clean(s: str) -> str:
        return re.sub(r"[${}\\]", "", s).strip()

    parts = [f"Animation in {n_frames} frames"]
    last = [clean(ax.get_title()) for ax in fig.axes if ax.get_title()]
    first = [clean(t) for t in first_titles if t]
    if first and last and first != last:
        parts.append(f"from '{'; '.join(first)}' to '{'; '.join(last)}'")
    elif last:
        parts.append(f"'{'; '.join(last)}'")
    for ax in fig.axes:
        labels = [clean(lbl) for lbl in (ax.get_xlabel(), ax.get_ylabel()) if lbl]
        legend = ax.get_legend()
        entries = [clean(t.get_text()) for t in legend.get_texts()] if legend else []
        if labels:
            parts.append("axes: " + " against ".join(reversed(labels)) if len(labels) == 2 else "axis: " + labels[0])
        if entries:
            parts.append("showing " + ", ".join(entries))
    return ", ".join(parts) + "."
