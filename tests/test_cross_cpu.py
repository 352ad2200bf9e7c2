"""Check cells print the same on every CPU (the rule of the README's "Adding a chapter").

The outputs of ``# NBVAL_CHECK_OUTPUT`` cells are recorded on the machine's own CPU code path with two
threads and compared by nbval on another one (ATen's portable kernels, one thread): see
``nbhelpers.CHECK_PATH_ENV``. These tests prove that the two paths really differ, and keep
rounding-level numbers (a printed 9.4e-17 differs between CPUs) out of every stored check output.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nbhelpers import CHECK_PATH_ENV, RECORD_PATH_ENV, ROOT, env

NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "book" / "assignments").glob("*.ipynb"))
PROBE = ("import json, torch, gantutor; "
         "print(json.dumps([torch.backends.cpu.get_cpu_capability(), torch.get_num_threads()]))")
# A float printed with an exponent of -10 or below is a rounding error, not a result.
ROUNDING_LEVEL = re.compile(r"\d(?:\.\d+)?[eE]-(?:1\d|[2-9]\d|\d{3})\b")


def _probe(environment: dict):
    out = subprocess.run([sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_the_checking_path_differs_from_the_recording_path():
    record_env = {k: v for k, v in env().items() if k not in CHECK_PATH_ENV}
    record_env.update(RECORD_PATH_ENV)
    native, record_threads = _probe(record_env)
    checking, check_threads = _probe(env())
    assert checking == "DEFAULT" and check_threads == 1
    assert record_threads == 2
    if native == "DEFAULT":
        pytest.skip("this CPU has no vector instruction set for ATen: only the thread count differs")
    assert native != checking


def test_rounding_level_pattern():
    assert ROUNDING_LEVEL.search("relative error 9.4e-17")
    assert ROUNDING_LEVEL.search("3e-12")
    assert not ROUNDING_LEVEL.search("lr 2e-4, eps 1e-8, 0.0123")


def _check_outputs(nb) -> list:
    texts = []
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT"):
            for out in cell.get("outputs", []):
                text = out.get("text") or "".join(out.get("data", {}).get("text/plain", ""))
                texts.append(text if isinstance(text, str) else "".join(text))
    return texts


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_check_cells_print_no_rounding_level_numbers(notebook):
    nb = nbformat.read(notebook, as_version=4)
    bad = []
    for text in _check_outputs(nb):
        for line in text.splitlines():
            # "< 1e-12" and "<= 1e-10" state a class (a bound), which is the same on every machine
            stripped = re.sub(r"[<>]=?\s*\d(?:\.\d+)?[eE]-\d+", "", line)
            if ROUNDING_LEVEL.search(stripped):
                bad.append(line.strip())
    assert not bad, (f"{notebook.name}: check cells print rounding-level numbers, which differ between CPUs; "
                     f"print a verdict or a class such as '< 1e-12' instead: {bad[:5]}")
