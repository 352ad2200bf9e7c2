"""The book as a whole: it builds without warnings, serves its own JavaScript, requests nothing from
another host, gives every image and video a text alternative, keeps every page under 3 MB
(tools/check_site.py), and every chapter's Colab install cell points at the repository named in
_config.yml.

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


def _site_checks():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import check_site
    finally:
        sys.path.pop(0)
    return check_site


@pytest.fixture(scope="module")
def built_site(tmp_path_factory):
    """The whole book built once in FAST mode into a temporary folder: its html/ directory."""
    assert (VENDOR / "html-manager" / "embed-amd.js").is_file(), (
        "book/_static/vendor/ is missing: run `make assets` (make test does it for you)"
    )
    out = tmp_path_factory.mktemp("book")
    # conftest.py sets MPLBACKEND=Agg for the tests; the book's kernels need the inline backend, or no
    # matplotlib figure reaches the pages and the checks below would never see one.
    env = dict(os.environ, GANTUTOR_FAST="1", MPLBACKEND="module://matplotlib_inline.backend_inline")
    cmd = [_jupyter_book(), "build", str(ROOT), "--path-output", str(out),
           "-W", "-n", "--keep-going"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=30 * 60)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"jupyter-book build failed:\n{log[-8000:]}"
    return out / "_build" / "html"


def test_book_builds_offline_with_local_javascript(built_site):
    html = built_site
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


def test_no_page_requests_anything_from_another_host(built_site):
    remote = _site_checks().check_site(built_site)["remote"]
    assert not remote, "resources loaded from other hosts (serve them from _static/):\n" + "\n".join(remote)


def test_every_image_and_video_has_a_text_alternative(built_site):
    missing = _site_checks().check_site(built_site)["alt"]
    assert not missing, ("images or videos without alt text, aria-label or caption (give the cell "
                         "metadata mystnb.image.alt or pass alt= to the animation):\n" + "\n".join(missing))


def test_every_page_is_under_the_size_limit(built_site):
    check = _site_checks()
    too_big = check.check_site(built_site)["size"]
    assert not too_big, "pages over the limit:\n" + "\n".join(too_big)
    assert check.page_sizes(built_site), "no page measured"


# -- the checks themselves: each must fail on a page that breaks its rule --------------------------
PAGE = """<html><head>
<link rel="stylesheet" href="_static/site.css"><link rel="canonical" href="https://example.org/page.html">
<script src="_static/app.js"></script>{head}</head><body>
<a href="https://arxiv.org/abs/1406.2661">the paper</a>{body}</body></html>"""


@pytest.mark.parametrize("head, body, expected", [
    ('<script src="https://cdn.example.com/lib.js"></script>', "", "https://cdn.example.com/lib.js"),
    ('<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/css/font-awesome.min.css">',
     "", "maxcdn.bootstrapcdn.com"),
    ("<style>@import 'https://fonts.example.com/a.css';</style>", "", "fonts.example.com"),
    ("", '<div style="background: url(//img.example.com/bg.png)"></div>', "//img.example.com/bg.png"),
    ("", '<script>fetch("https://api.example.com/data.json").then(r => r)</script>', "api.example.com"),
    ("", '<img src="https://example.com/a.png" alt="a plot">', "https://example.com/a.png"),
    ("", '<video controls aria-label="x"><source src="http://example.com/v.mp4"></video>', "example.com/v.mp4"),
    ("", '<link rel="preconnect" href="https://fonts.gstatic.com">', "fonts.gstatic.com"),
])
def test_remote_request_check_catches(tmp_path, head, body, expected):
    check = _site_checks()
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "site.css").write_text("body { color: black } .x { background: url(img/a.png) }")
    page = tmp_path / "page.html"
    page.write_text(PAGE.format(head=head, body=body))
    found = check.remote_requests(page, tmp_path)
    assert len(found) == 1 and expected in found[0], found


def test_remote_request_check_passes_local_pages_and_follows_stylesheets(tmp_path):
    check = _site_checks()
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "site.css").write_text('@import "more.css"; .x { background: url(data:image/png;base64,AA) }')
    (tmp_path / "_static" / "more.css").write_text("@font-face { src: url('https://fonts.example.com/f.woff2') }")
    page = tmp_path / "page.html"
    page.write_text(PAGE.format(head='<script>const THEBE_JS_URL = "https://unpkg.com/thebe";</script>',
                                body='<svg xmlns="http://www.w3.org/2000/svg"></svg><img src="_images/a.png" alt="a plot">'))
    assert check.remote_requests(page, tmp_path) == ["more.css: https://fonts.example.com/f.woff2"]
    (tmp_path / "_static" / "more.css").write_text("@font-face { src: url(fonts/f.woff2) }")
    assert check.remote_requests(page, tmp_path) == []


@pytest.mark.parametrize("body, missing", [
    ('<img src="_images/a.png" alt="_images/a.png">', 1),          # docutils writes the path when no alt is given
    ('<img src="../_images/b.png" alt="b.png">', 1),
    ('<img src="_images/a.png">', 1),
    ('<img src="_images/a.png" alt="">', 1),
    ('<video controls><source src="data:video/mp4;base64,AA"></video>', 1),
    ('<img src="_images/a.png" alt="Samples of the DCGAN after 1500 steps: blurry digits">', 0),
    ('<video controls aria-label="Training replay, steps 0 to 4000"></video>', 0),
    ('<figure><img src="_images/a.png"><figcaption>Loss curves of both players</figcaption></figure>', 0),
    ('<figure><img src="_images/a.png"><figcaption> </figcaption></figure>', 1),
])
def test_text_alternative_check(body, missing):
    assert len(_site_checks().media_without_text(PAGE.format(head="", body=body))) == missing


def test_page_size_check(tmp_path):
    check = _site_checks()
    (tmp_path / "small.html").write_text("<html></html>")
    (tmp_path / "big.html").write_text("<html>" + "x" * 2000 + "</html>")
    problems = check.check_site(tmp_path, max_bytes=1000)
    assert len(problems["size"]) == 1 and problems["size"][0].startswith("big.html")
    assert check.MAX_PAGE_BYTES == 3_000_000


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
