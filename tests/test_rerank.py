import json
import math

import numpy as np
import pytest

from conftest import VAL, needs_latex, needs_val
from img2latex import LatexOCR
from img2latex.cli import main
from img2latex.render import IM2LATEX_STYLE, render_all
from img2latex.rerank import aligned, check_tools, distances, image_distance, order, renderings


def _formula_image(width: int = 30, height: int = 12, bar: int = 0) -> np.ndarray:
    """White paper with a black box, and optionally a bar `bar` pixels to its right."""
    image = np.full((40, 80), 255, np.uint8)
    image[10 : 10 + height, 5 : 5 + width] = 0
    if bar:
        image[10:22, 5 + width + bar : 8 + width + bar] = 0
    return image


def test_distance_ignores_margins_and_grows_with_what_differs():
    image = _formula_image()
    assert image_distance(image, image) == 0.0
    assert image_distance(image, np.pad(image, 9, constant_values=255)) == 0.0  # only the ink counts
    slightly = image_distance(image, _formula_image(width=28))  # as two renderers' rounding differs
    assert 0.0 < slightly < image_distance(image, _formula_image(bar=4))  # an extra token
    assert slightly < image_distance(image, _formula_image(height=4))  # another symbol
    assert image_distance(image, _formula_image(width=15), size_weight=1.0) > image_distance(
        image, _formula_image(width=15), size_weight=0.0)
    assert math.isinf(image_distance(image, np.full((10, 10), 255, np.uint8)))  # blank: nothing to compare
    crop, resized, size = aligned(image, _formula_image(width=15))  # the rendering stretched onto the image's ink
    assert crop.shape == resized.shape == (12, 30) and size == pytest.approx(math.log(2))


def test_order_trades_score_for_likeness_and_puts_failures_last():
    scores, found = [-0.10, -0.12, -0.05], [0.05, 0.01, math.inf]
    assert order(scores, found, weight=0.0) == [0, 1, 2]  # the model's order; the failure still last
    assert order(scores, found, weight=2.0) == [1, 0, 2]  # 0.02 of score for 0.04 of distance
    assert order([-0.3, -0.1], [math.inf, math.inf]) == [1, 0]  # nothing compiled: the model's order


@needs_latex
def test_the_reading_that_looks_like_the_image_wins():
    image = render_all(["x ^ { 2 } + \\psi _ { i }"], IM2LATEX_STYLE)[0].image
    readings = [["x ^ { 2 } + \\vartheta _ { i }", "x ^ { 2 } + \\psi _ { i }", "x ^ { 2 } + \\psi _ {"]]
    found = distances([image], readings, renderings(readings))[0]
    assert found[1] < 0.01 < found[0] and math.isinf(found[2])
    assert order([-0.10, -0.11, -0.01], found)[0] == 1


def test_rerank_needs_the_tools(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ValueError, match="not installed: pdflatex, pdftoppm"):
        check_tools()
    with pytest.raises(ValueError, match="not installed"):
        LatexOCR().predict_batch([_formula_image()], beam=2, rerank=True)


@needs_latex
def test_rerank_needs_a_beam(capsys):
    with pytest.raises(ValueError, match="beam of 2 or more"):
        LatexOCR(rerank=True).predict(_formula_image())
    assert main(["predict", "x.png", "--rerank"]) == 2
    assert "beam of 2 or more" in capsys.readouterr().err


@needs_latex
@needs_val
def test_rerank_reorders_the_beams_readings_of_val_images():
    images = [VAL / "images" / f"{n}.png" for n in (4, 5, 9, 13)]
    plain = LatexOCR().predict_batch(images, beam=3)
    reranked = LatexOCR(rerank=True).predict_batch(images, beam=3)
    for p, r in zip(plain, reranked):
        assert sorted([(p.latex, p.score), *p.alternatives]) == sorted([(r.latex, r.score), *r.alternatives])


@needs_latex
@needs_val
def test_evaluate_records_the_rerank(tmp_path):
    out = tmp_path / "eval"
    assert main(["evaluate", "--data", str(VAL), "--limit", "4", "--beam", "2", "--rerank", "--out", str(out)]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["rerank"] is True
    assert "reranked by rendering" in out.with_suffix(".md").read_text()
