"""The book as a whole: it builds without warnings, serves its own JavaScript, and every chapter's
Colab install cell points at the repository named in _config.yml.

`make test` runs `make assets` first, which puts require.js, the ipywidgets HTML manager and MathJax
into book/_static/vendor/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
VENDOR = BOOK / "_static" / "vendor"
CDN_HOSTS = ("unpkg.com", "cdn.jsdelivr.net", "cdnjs.cloudflare.com")
# sphinx-thebe always writes this inline constant; thebe is only fetched by the "Live code" button,
# which the book does not enable (launch_buttons.thebe is false), so the page never loads it.
THEBE_URL = re.compile(r'const THEBE_JS_URL = "[^"]*";')
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [str(Path(f).with_suffix("")) for f in files]


def _jupyter_book() -> str:
    exe = Path(sys.executable).parent / "jupyter-book"
    found = str(exe) if exe.exists() else shutil.which("jupyter-book")
    assert found, "jupyter-book is not installed; run `make test` (it installs requirements.txt)"
    return found


def _repository_url() -> str:
    url = _config()["repository"]["url"].rstrip("/")
    assert url.startswith("https://"), url
    return url


def test_config_loads_no_javascript_from_a_cdn():
    sphinx_config = _config()["sphinx"]["config"]
    for path in list(sphinx_config["nb_ipywidgets_js"]) + [sphinx_config["mathjax_path"]]:
        assert "://" not in path, f"{path} would be fetched from the network"


def test_book_builds_offline_with_local_javascript(tmp_path):
    assert (VENDOR / "html-manager" / "embed-amd.js").is_file(), (
        "book/_static/vendor/ is missing: run `make assets` (make test does it for you)"
    )
    env = dict(os.environ, GANTUTOR_FAST="1")
    cmd = [_jupyter_book(), "build", str(ROOT), "--path-output", str(tmp_path),
           "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=30 * 60)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"jupyter-book build failed:\n{log[-8000:]}"

    html = tmp_path / "_build" / "html"
    for name in _toc_files():
        assert (html / f"{name}.html").is_file(), f"page {name}.html was not built"

    pages_with_math = pages_with_widgets = 0
    for page in html.rglob("*.html"):
        text = page.read_text(encoding="utf8")
        has_widgets = WIDGET_STATE in text
        has_math = "vendor/mathjax/tex-chtml-full.js" in text
        if not (has_widgets or has_math):
            continue
        pages_with_math += has_math
        pages_with_widgets += has_widgets
        rel = page.relative_to(html)
        stripped = THEBE_URL.sub("", text)
        for host in CDN_HOSTS:
            assert host not in stripped, f"{rel} refers to {host}"
        assert "data-jupyter-widgets-cdn" not in text, f"{rel} sets a widgets CDN"
        if has_widgets:
            for js in ("vendor/require.js", "widgets-local.js", "vendor/html-manager/embed-amd.js"):
                assert f'_static/{js}' in text, f"{rel} does not load {js}"
        # every local script the page loads was copied into the build
        for src in re.findall(r'<script[^>]*\ssrc="([^"]+)"', text):
            if "://" in src:
                continue
            target = (page.parent / src.split("?")[0]).resolve()
            assert target.is_file(), f"{rel} loads {src}, which is not in the build"
    assert pages_with_math > 0, "no page renders math with the local MathJax"
    if pages_with_widgets == 0:
        print("note: no built page holds saved widget state")


def test_colab_install_cells_use_the_configured_repository():
    url = _repository_url()
    notebooks = sorted(
        p for p in BOOK.rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and "_build" not in p.parts
    )
    installing = []
    for nb_path in notebooks:
        nb = json.loads(nb_path.read_text(encoding="utf8"))
        code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
        if not code:
            continue
        first = code[0]["source"]
        first = "".join(first) if isinstance(first, list) else first
        if "pip" in first and "gantutor" in first:
            installing.append(nb_path)
            assert f"git+{url}" in first, (
                f"{nb_path.relative_to(ROOT)}: the install cell must pip-install git+{url} "
                f"(repository.url in _config.yml)"
            )
    chapters = [f for f in _toc_files() if (ROOT / f"{f}.ipynb").exists()]
    assert installing, (
        f"no notebook under book/ installs gantutor in its first code cell "
        f"(notebooks in the toc so far: {chapters or 'none'})"
    )


def test_book_timer_finds_every_notebook_of_the_toc():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import time_book
    finally:
        sys.path.pop(0)
    found = [p.relative_to(ROOT).with_suffix("").as_posix() for p in time_book.toc_notebooks()]
    expected = [f for f in _toc_files() if (ROOT / f"{f}.ipynb").exists()]
    assert found == expected and len(found) >= 3
    table = time_book.to_markdown({"mode": "fast", "notebooks": {"a.ipynb": 30.0, "b.ipynb": 700.0},
                                   "total_seconds": 730.0, "machine": "m", "date": "d"})
    assert "| **total** | **730** (12.2 min) (target under 10 minutes: NOT met) |" in table
