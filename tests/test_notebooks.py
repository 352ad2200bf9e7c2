"""Every chapter notebook runs top to bottom under nbval in FAST mode.

``--nbval-lax`` fails on any error and compares the outputs of the cells marked
``# NBVAL_CHECK_OUTPUT`` (the numerical checks of each derivation) with the outputs stored in the
notebook. The stored outputs were recorded on the machine's own CPU code path with 2 threads; the test
runs on ATen's portable kernels with 1 thread (``nbhelpers.CHECK_PATH_ENV``), so a check cell that prints
a rounding-level number fails here, not on a CI machine with another CPU. Assignment notebooks are validated in test_assignments.py.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nbhelpers import CHECK_PATH_ENV

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.ipynb"))


def test_there_are_chapters():
    assert CHAPTERS, "no chapter notebooks found in book/"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_chapter_runs_under_nbval(notebook):
    env = dict(os.environ, GANTUTOR_FAST="1", MPLBACKEND="module://matplotlib_inline.backend_inline", **CHECK_PATH_ENV)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
         "-q", str(notebook)],
        cwd=notebook.parent, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_checked_cells_with_stored_outputs(notebook):
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    checked = [c for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT")]
    assert checked, f"{notebook.name} has no numerical check cells"
    assert all(c.outputs for c in checked), f"{notebook.name}: run tools/refresh_outputs.py to store check outputs"
    assert not any("error" == o.get("output_type") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


PAGES = CHAPTERS + sorted((ROOT / "book" / "assignments").glob("*.ipynb"))


def _math_blocks_glued_to_text(text: str) -> list:
    """Lines of ``text`` where a ``$$`` display block touches a line of prose: MyST then parses the
    dollars as inline math (inside a directive the page shows a stray ``$``), so they need blank lines."""
    lines, bad, inside = text.split("\n"), [], False
    for i, line in enumerate(lines):
        s = line.strip()
        if not s.startswith("$$") and not (inside and s.endswith("$$")):
            continue
        one_line = s.startswith("$$") and s.endswith("$$") and len(s) > 2
        opening = not inside
        if opening and i > 0 and lines[i - 1].strip():
            bad.append(lines[i - 1])
        closing = one_line or inside
        if closing and i + 1 < len(lines) and lines[i + 1].strip() and not lines[i + 1].startswith("```"):
            bad.append(lines[i + 1])
        if not one_line:
            inside = not inside
    return bad


def test_math_check_catches_glued_blocks():
    assert _math_blocks_glued_to_text("text\n$$\nx\n$$\n\nmore") == ["text"]
    assert _math_blocks_glued_to_text("text\n\n$$\nx\n$$\nmore") == ["more"]
    assert _math_blocks_glued_to_text("a\n\n$$x$$\n\nb\n\n$$\ny\n$$\n```") == []


@pytest.mark.parametrize("notebook", PAGES, ids=lambda p: p.name)
def test_display_math_is_set_apart_by_blank_lines(notebook):
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    bad = [line for c in nb.cells if c.cell_type == "markdown" for line in _math_blocks_glued_to_text(c.source)]
    assert not bad, f"{notebook.name}: put a blank line between $$ blocks and these lines: {bad}"


@pytest.mark.parametrize("notebook", PAGES, ids=lambda p: p.name)
def test_no_tag_in_multiline_dollar_math(notebook):
    """MyST wraps a $$ block with line breaks (\\\\) in a split environment, where \\tag is a MathJax error
    (a yellow box on the page); a tagged multi-line equation needs \\begin{equation*} ... \\end{equation*}."""
    import re

    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    bad = [m.group(1)[:60] for c in nb.cells if c.cell_type == "markdown"
           for m in re.finditer(r"\$\$(.*?)\$\$", c.source, re.S) if "\\tag" in m.group(1) and "\\\\" in m.group(1)]
    assert not bad, f"{notebook.name}: tagged multi-line $$ blocks: {bad}"
