"""gantutor.notebook: glued values are plain Python numbers; bad names are refused."""
import numpy as np
import pytest
import torch

from gantutor import notebook


@pytest.mark.parametrize("value, expected", [(np.float64(2.5), 2.5), (np.int64(3), 3), (torch.tensor(1.5), 1.5),
                                             (torch.tensor([7]), 7), (4.0, 4.0), ("text", "text")])
def test_plain_gives_python_numbers(value, expected):
    out = notebook.plain(value)
    assert out == expected and type(out) is type(expected)


def test_plain_leaves_arrays_alone():
    arr = np.arange(3)
    assert notebook.plain(arr) is arr


def test_glue_hands_plain_numbers_to_myst_nb(monkeypatch):
    seen = {}
    monkeypatch.setattr(notebook, "_myst_glue", lambda name, value, display: seen.update({name: (value, display)}))
    notebook.glue("fid", np.float64(12.25))
    assert seen == {"fid": (12.25, False)} and type(seen["fid"][0]) is float


def test_glue_without_myst_nb_does_nothing(monkeypatch):
    monkeypatch.setattr(notebook, "_myst_glue", None)
    assert notebook.glue("x", 1.0) is None


def test_glue_refuses_empty_name():
    with pytest.raises(ValueError, match="name"):
        notebook.glue("", 1.0)
