from pathlib import Path

import numpy as np
import pytest

from conftest import needs_latex
from img2latex.data import read_labels
from img2latex.image import crop_to_ink, load_gray
from img2latex.render import (FONTS, IM2LATEX_STYLE, PADDING, Style, read_formulas, render_chunk, render_dataset,
                              style_of)

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


def test_every_font_renders_and_min_pooling_keeps_strokes_bold():
    formula = [(0, r"\alpha + \frac { x ^ { 2 } } { \mathcal { L } }")]
    images = {font: render_chunk(formula, Style(font=font))[0].image for font in FONTS}
    assert all(image is not None for image in images.values())
    assert not np.array_equal(images["cm"], images["times"])  # (arrays of other shapes are unequal too)
    bold, light = (render_chunk(formula, Style(halving=h))[0].image for h in ("min", "box"))
    assert bold.shape == light.shape and (bold < 128).sum() > 1.5 * (light < 128).sum()
    double = render_chunk(formula, Style(dpi=170))[0].image
    assert double.shape[0] - 2 * PADDING > 1.8 * (bold.shape[0] - 2 * PADDING)  # twice the dpi, twice the ink


def test_ten_point_sets_wider_scripts_at_the_same_letter_size(tmp_path):
    formulas = [(0, "a b c d e f g h i j k l m n"), (1, "F _ { a b c d e f g h i j k l m n }")]
    (letters, scripts), (letters10, scripts10) = (
        [crop_to_ink(r.image, 0).shape for r in render_chunk(formulas, style)] for style in (Style(), IM2LATEX_STYLE))
    assert abs(letters10[0] - letters[0]) <= 1 and abs(letters10[1] - letters[1]) <= 2
    assert scripts10[1] > 1.05 * scripts[1]
    assert render_dataset(["x_1"], tmp_path, size=10, progress=False, workers=1) == (1, 0)
    with pytest.raises(ValueError, match="unknown size 9"):
        render_dataset(["x"], tmp_path, size=9, progress=False)


def test_styles_are_mixed_per_formula_and_stable(tmp_path):
    styles = [style_of(i, [70, 85], ["cm", "times", "euler"], "min") for i in range(600)]
    counts = {(s.dpi, s.font): styles.count(s) for s in set(styles)}
    assert len(counts) == 6 and min(counts.values()) > 60  # every combination, roughly evenly
    assert styles == [style_of(i, [70, 85], ["cm", "times", "euler"], "min") for i in range(600)]
    formulas = [r"x^2", r"\frac12", r"e^{i\pi}", r"y_1", r"\alpha"]
    assert render_dataset(formulas, tmp_path, fonts=["cm", "palatino"], dpis=[80, 90], progress=False, workers=1) == (5, 0)
    assert sorted(name for name, _ in read_labels(tmp_path)) == [f"{i}.png" for i in range(5)]
    with pytest.raises(ValueError, match="unknown font"):
        render_dataset(formulas, tmp_path, fonts=["comic"], progress=False)


@needs_latex
def test_a_formula_that_hangs_pdflatex_is_skipped_and_the_others_render(monkeypatch):
    """TeX stuck on one formula: the run times out, that formula is blamed, the rest render."""
    from img2latex import render

    real_run = render.subprocess.run

    def run(cmd, **kwargs):
        source = (Path(kwargs["cwd"]) / "f.tex").read_text() if "pdflatex" in cmd else ""
        if r"\stuck" in source:
            lines = [line for line in source.splitlines() if render._MARK in line]
            stuck = next(k for k, line in enumerate(lines) if r"\stuck" in line)
            progress = "".join(f"{render._MARK}{k}\n" for k in range(stuck + 1)).encode()
            raise render.subprocess.TimeoutExpired(cmd, render.TIMEOUT_S, output=progress)
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(render.subprocess, "run", run)
    results = render_chunk([(0, "a + b"), (1, r"\stuck x"), (2, "c ^ { 2 }")])
    assert results[0].image is not None and results[2].image is not None
    assert results[1].image is None and "timed out" in results[1].error


def test_italic_operatorname_looks_as_in_im2latex_100k(tmp_path):
    # im2latex-100k shows `\operatorname* { l i m }` as an italic "*lim" with its limit at the side.
    formulas = [(0, r"\operatorname* { l i m } _ { x } \operatorname { e x p } x"), (1, r"* l i m _ { x } e x p x")]
    upright, plain = (r.image for r in render_chunk(formulas))
    italic, same_plain = (r.image for r in render_chunk(formulas, Style(operatorname="italic")))
    assert np.array_equal(italic, plain) and np.array_equal(same_plain, plain)
    assert not np.array_equal(upright, plain)
    assert render_dataset([r"\sin x"], tmp_path, operatorname="italic", progress=False, workers=1) == (1, 0)
    assert read_labels(tmp_path) == [("0.png", r"\operatorname { s i n } x")]  # the label keeps the command
    with pytest.raises(ValueError, match="unknown operatorname"):
        render_dataset([r"x"], tmp_path, operatorname="bold", progress=False)


def test_read_formulas_picks_by_source_and_pattern(tmp_path):
    path = tmp_path / "formulas.tsv"
    path.write_text("a/x\t\\sin x\nb/y\ty ^ 2\nb/y\t\\sinh y\nc/z\t\\lim z\n")
    assert read_formulas(path) == ["\\sin x", "y ^ 2", "\\sinh y", "\\lim z"]
    assert read_formulas(path, {"b/y"}) == ["y ^ 2", "\\sinh y"]
    assert read_formulas(path, {"b/y"}, exclude=True) == ["\\sin x", "\\lim z"]
    assert read_formulas(path, match=r"\\(sin|lim)(?![a-z])") == ["\\sin x", "\\lim z"]


def test_render_command_picks_formulas_and_look(tmp_path):
    from img2latex.cli import main

    path = tmp_path / "formulas.tsv"
    path.write_text("a/x\t\\sin x\nb/y\t\\sin y\na/x\tz ^ 2\n")
    out = tmp_path / "out"
    args = ["render", "--formulas", str(path), "--out", str(out), "--exclude-sources", "b/y", "--match", r"\\sin",
            "--operatorname", "italic", "--size", "10", "--workers", "1"]
    assert main(args) == 0
    assert read_labels(out) == [("0.png", r"\operatorname { s i n } x")]
    plain = render_chunk([(0, "s i n x")], Style(size=10))[0].image
    assert np.array_equal(load_gray(out / "images" / "0.png"), plain)


def test_the_lanczos_halving_rings_strokes_with_faint_gray_as_im2latex_images_are():
    formula = [(0, r"F _ { \mu \nu } F ^ { \mu \nu } + \bar { x }")]
    bold, ringed = (render_chunk(formula, Style(halving=h))[0].image for h in ("min", "lanczos"))
    faint = {name: ((image >= 230) & (image < 255)).sum() / (image < 255).sum()
             for name, image in (("min", bold), ("lanczos", ringed))}
    assert bold.shape == ringed.shape and ringed.min() == 0  # the same size, black cores
    assert faint["lanczos"] > 0.3 > 0.15 > faint["min"]
