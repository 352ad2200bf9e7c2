"""Check a built website as a reader meets it: no page over the size limit, nothing loaded from another
host, every image and video with a text alternative.

    .venv/bin/python tools/check_site.py _build/html          # exit status 1 and a list if anything fails

`make book` runs it on the site it built; tests/test_book_build.py runs the same checks on the FAST
build it makes, and tests each check on small pages that must fail.

What counts as loaded by a page: ``<script src>``, ``<link href>`` except links that are only
navigation (rel canonical, next, prev, ...), ``src``/``srcset``/``poster``/``data`` of images, media,
frames and objects, ``url(...)`` and ``@import`` in inline styles, in ``style`` attributes and in the
local stylesheets the page loads (followed recursively), and http(s) URLs written in inline scripts
(``fetch("https://...")``, a ``src`` set from script, ...). ``<a href>`` to papers and the repository
is navigation, not a request.
"""
from __future__ import annotations

import argparse
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Dict, List, Optional, Tuple

MAX_PAGE_BYTES = 3_000_000
# sphinx-thebe writes this constant on every page; thebe is only fetched by a "Live code" button the
# book does not enable, so it is never requested.
ALLOWED_SCRIPT_TEXT = (re.compile(r'const THEBE_JS_URL = "[^"]*";'),)
# Names, not requests: XML namespaces that scripts and SVG mention.
NAMESPACES = ("http://www.w3.org/",)
NAVIGATION_RELS = {"canonical", "next", "prev", "previous", "search", "index", "author", "license", "help",
                   "alternate", "bookmark", "external", "nofollow", "noopener", "noreferrer", "tag", "top", "up",
                   "contents", "start", "first", "last", "glossary", "copyright"}
JS_TYPES = {"", "text/javascript", "application/javascript", "module", "text/x-mathjax-config"}
RESOURCE_ATTRS = {"img": ("src", "srcset"), "source": ("src", "srcset"), "video": ("src", "poster"),
                  "audio": ("src",), "track": ("src",), "iframe": ("src",), "embed": ("src",),
                  "object": ("data",), "input": ("src",), "image": ("href", "xlink:href"), "use": ("href", "xlink:href")}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")
SCRIPT_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s'"`)]*""")


def is_remote(url: str) -> bool:
    """True for a URL that leaves the site: http(s)://... or protocol-relative //host/..."""
    u = url.strip().lower()
    return u.startswith(("http://", "https://", "//", "ftp://", "ws://", "wss://"))


def css_urls(css: str) -> List[str]:
    """Every ``url(...)`` and ``@import "..."`` target in a stylesheet."""
    return [m.group(2) or m.group(4) for m in CSS_URL.finditer(css)]


def script_urls(js: str) -> List[str]:
    """http(s) and protocol-relative URLs written in an inline script (namespace names excepted)."""
    for allowed in ALLOWED_SCRIPT_TEXT:
        js = allowed.sub("", js)
    found = []
    for m in SCRIPT_URL.finditer(js):
        url = m.group(0)
        if not url.startswith(("http", "//")) or any(url.startswith(ns) for ns in NAMESPACES):
            continue
        if url.startswith("//") and m.start() > 0 and js[m.start() - 1] not in "'\"`(=":
            continue  # a // comment, not a URL
        found.append(url)
    return found


class _Page(HTMLParser):
    """Collects what a page loads, its media and whether each has a text alternative."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.loads: List[Tuple[str, str]] = []       # (what, url)
        self.stylesheets: List[str] = []              # local stylesheet hrefs
        self.media: List[Dict[str, object]] = []      # one dict per img / video
        self._script: Optional[str] = None
        self._script_text: List[str] = []
        self._style = False
        self._figures: List[Dict[str, object]] = []  # open <figure> elements
        self._caption_depth = 0

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        for name in RESOURCE_ATTRS.get(tag, ()):
            if a.get(name):
                urls = [part.strip().split(" ")[0] for part in a[name].split(",")] if name == "srcset" else [a[name]]
                self.loads += [(f"<{tag} {name}>", u) for u in urls if u]
        if tag == "script":
            if a.get("src"):
                self.loads.append(("<script src>", a["src"]))
            self._script, self._script_text = a.get("type", "").lower(), []
        elif tag == "link" and a.get("href"):
            rels = set(a.get("rel", "").lower().split())
            if not rels or not rels <= NAVIGATION_RELS:
                self.loads.append((f"<link rel={a.get('rel', '')}>", a["href"]))
                if "stylesheet" in rels and not is_remote(a["href"]):
                    self.stylesheets.append(a["href"])
        elif tag == "style":
            self._style = True
        if a.get("style"):
            self.loads += [("style attribute", u) for u in css_urls(a["style"])]
        if tag == "figure":
            self._figures.append({"caption": "", "media": []})
        elif tag == "figcaption":
            self._caption_depth += 1
        if tag in ("img", "video"):
            item = {"tag": tag, "src": a.get("src", "")[:80], "alt": a.get("alt"),
                    "label": a.get("aria-label", "").strip() or a.get("aria-labelledby", "").strip() or a.get("title", "").strip(),
                    "caption": ""}
            self.media.append(item)
            if self._figures:
                self._figures[-1]["media"].append(item)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.handle_endtag(tag)

    def handle_data(self, data):
        if self._script is not None:
            self._script_text.append(data)
        elif self._style:
            self.loads += [("<style>", u) for u in css_urls(data)]
        if self._caption_depth and self._figures:
            self._figures[-1]["caption"] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if self._script in JS_TYPES:
                self.loads += [("inline <script>", u) for u in script_urls("".join(self._script_text))]
            self._script = None
        elif tag == "style":
            self._style = False
        elif tag == "figcaption":
            self._caption_depth = max(self._caption_depth - 1, 0)
        elif tag == "figure" and self._figures:
            fig = self._figures.pop()
            for item in fig["media"]:
                item["caption"] = str(fig["caption"]).strip()


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


def _local_file(page: Path, url: str, root: Path) -> Optional[Path]:
    url = url.split("#")[0].split("?")[0]
    if not url or url.startswith("data:") or is_remote(url):
        return None
    target = (root / url.lstrip("/")) if url.startswith("/") else (page.parent / url)
    return target.resolve()


def remote_requests(page: Path, root: Path, text: Optional[str] = None, _seen: Optional[set] = None) -> List[str]:
    """'what url' for every resource ``page`` (HTML under ``root``) would fetch from another host,
    including through the local stylesheets it loads."""
    text = page.read_text(encoding="utf8") if text is None else text
    parsed = parse(text)
    bad = [f"{what} {url}" for what, url in parsed.loads if is_remote(url)]
    seen = _seen if _seen is not None else set()
    queue = [f for f in (_local_file(page, href, root) for href in parsed.stylesheets) if f is not None]
    while queue:
        css = queue.pop()
        if css in seen or not css.is_file():
            continue
        seen.add(css)
        for url in css_urls(css.read_text(encoding="utf8", errors="replace")):
            if is_remote(url):
                bad.append(f"{css.name}: {url}")
            elif url.split("?")[0].endswith(".css"):
                target = _local_file(css, url, root)
                if target is not None:
                    queue.append(target)
    return bad


def media_without_text(text: str) -> List[str]:
    """The images and videos of a page with no text alternative: an ``alt`` that says something (not
    empty and not just the file's own path, which docutils writes when none was given), an
    ``aria-label`` / ``aria-labelledby`` / ``title``, or a ``<figcaption>`` of their figure."""
    bad = []
    for item in parse(text).media:
        alt = (item["alt"] or "").strip()
        src = str(item["src"])
        alt_is_path = bool(alt) and (alt == src or alt.endswith((".png", ".jpg", ".jpeg", ".svg", ".gif"))
                                     or (src and alt.split("/")[-1] == src.split("/")[-1]))
        if (alt and not alt_is_path) or item["label"] or item["caption"]:
            continue
        bad.append(f"<{item['tag']} src={src!r}>" + (f" alt={alt!r}" if alt else " (no alt)"))
    return bad


def check_site(html_root: Path, max_bytes: int = MAX_PAGE_BYTES) -> Dict[str, List[str]]:
    """Every problem of the built site at ``html_root``, by kind: 'size', 'remote', 'alt'."""
    html_root = Path(html_root)
    problems: Dict[str, List[str]] = {"size": [], "remote": [], "alt": []}
    seen: set = set()
    for page in sorted(html_root.rglob("*.html")):
        rel = page.relative_to(html_root).as_posix()
        if rel.startswith(("_static/", "_sources/")):
            continue
        size = page.stat().st_size
        if size > max_bytes:
            problems["size"].append(f"{rel}: {size / 1e6:.2f} MB (limit {max_bytes / 1e6:.1f} MB)")
        text = page.read_text(encoding="utf8")
        problems["remote"] += [f"{rel}: {r}" for r in remote_requests(page, html_root, text, seen)]
        problems["alt"] += [f"{rel}: {m}" for m in media_without_text(text)]
    return problems


def page_sizes(html_root: Path) -> Dict[str, int]:
    """Bytes of every page of the site (for the report)."""
    root = Path(html_root)
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in sorted(root.rglob("*.html"))
            if not p.relative_to(root).as_posix().startswith(("_static/", "_sources/"))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html", type=Path, nargs="?", default=Path("_build/html"))
    parser.add_argument("--sizes", action="store_true", help="print every page's size")
    args = parser.parse_args(argv)
    if not args.html.is_dir():
        print(f"html: no built site at {args.html}; build it first (make book)")
        return 2
    if args.sizes:
        for name, size in page_sizes(args.html).items():
            print(f"{size / 1e6:7.2f} MB  {name}")
    problems = check_site(args.html)
    for kind, what in (("size", "pages over the size limit"), ("remote", "requests to other hosts"),
                       ("alt", "images or videos without a text alternative")):
        if problems[kind]:
            print(f"{len(problems[kind])} {what}:")
            print("\n".join(f"  {p}" for p in problems[kind]))
    n = sum(map(len, problems.values()))
    print("site check: " + ("all pages pass" if n == 0 else f"{n} problems"))
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main())
