import numpy as np

from conftest import needs_latex
from img2latex.data import read_labels
from img2latex.image import load_gray
from img2latex.render import render_chunk, render_dataset

pytestmark = needs_latex


def test_good_formulas_render_and_bad_ones_are_reported():
    formulas = [r"x ^ { 2 }", r"\undefinedcommand x", r"\frac { a } { b }", r"a & b", r"\input { /etc/passwd }", r"\,"]
    results = render_chunk(list(enumerate(formulas)))
    assert [r.image is not None for r in results] == [True, False, True, False, False, False]
    assert "Undefined control sequence" in results[1].error
    assert "refused" in results[4].error and "empty" in results[5].error
    frac = results[2].image
    assert frac.dtype == np.uint8 and frac.shape[0] > frac.shape[1]  # a fraction is taller than wide
    assert (frac[:4] == 255).all() and (frac[:, :4] == 255).all()  # the white margin
    assert frac.min() < 64  # real ink


def test_render_dataset_writes_labels_and_resumes(tmp_path):
    formulas = [r"x^2", r"\frac12", r"\badcommand", r"e^{i\pi}", "{unbalanced"]
    ok, bad = render_dataset(formulas, tmp_path, progress=False, workers=1)
    assert (ok, bad) == (3, 2)
    labels = read_labels(tmp_path)
    assert labels == [("0.png", "x ^ { 2 }"), ("1.png", r"\frac { 1 } { 2 }"), ("3.png", r"e ^ { i \pi }")]
    assert load_gray(tmp_path / "images" / "0.png").ndim == 2
    assert len((tmp_path / "failed.tsv").read_text().splitlines()) == 2
    assert render_dataset(formulas + [r"y_1"], tmp_path, progress=False, workers=1) == (1, 0)
    assert read_labels(tmp_path)[-1] == ("5.png", "y _ { 1 }")
