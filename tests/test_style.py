import pytest

from conftest import needs_latex
from img2latex.style import restyle

IM2LATEX_MODERN = [
    (r"{ \cal A } _ { { \bf x } } \rightarrow b \leq c", r"\mathcal { A } _ { \mathbf { x } } \rightarrow b \leq c"),
    (r"{ \cal A B } + { \it f } ( { \sf X } )", r"\mathcal { A B } + \mathit { f } ( \mathsf { X } )"),
    (r"\hat { { \cal G } } ^ { a }", r"\hat { \mathcal { G } } ^ { a }"),
]


@pytest.mark.parametrize("im2latex, modern", IM2LATEX_MODERN)
def test_styles_map_into_each_other(im2latex, modern):
    assert restyle(im2latex, "modern") == modern
    assert restyle(modern, "im2latex") == im2latex


IM2LATEX_ONLY = [  # respelled one way: "modern" keeps these as they are
    (r"\mathcal { L } \to x \le y \ge z \ne w , \dots , \lbrace a \rbrace",
     r"{ \cal L } \rightarrow x \leq y \geq z \neq w , \ldots , \{ a \}"),
    (r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}",
     r"\begin{pmatrix} { a } & { b } \\ { c } & { d } \\ \end{pmatrix}"),
    (r"\begin{array} { c | c } a & \begin{array} { c } 0 \\ 1 \end{array} \\ \hline & { x } y \end{array}",
     r"\begin{array} { c | c } { a } & { \begin{array} { c } { 0 } \\ { 1 } \\ \end{array} } \\ \hline { } & { { x } y } \\ \end{array}"),
    (r"\begin{cases} a & x > 0 \\ b \\ \end{cases}", r"\begin{cases} { a } & { x > 0 } \\ { b } \\ \end{cases}"),
]


@pytest.mark.parametrize("raw, styled", IM2LATEX_ONLY)
def test_im2latex_style_respells_synonyms_and_tables_and_is_a_fixed_point(raw, styled):
    assert restyle(raw, "im2latex") == styled
    assert restyle(styled, "im2latex") == styled


def test_a_declaration_inside_a_group_covers_the_rest_of_it():
    assert restyle(r"{ a \bf x y } + \cal z", "modern") == r"{ a \mathbf { x y } } + \mathcal { z }"


@pytest.mark.parametrize("broken", [r"\mathcal { A", r"x \mathcal", r"} \mathbf", r"\begin{matrix} a & b"])
def test_broken_formulas_are_kept_as_they_are(broken):
    assert restyle(broken, "im2latex") == broken


def test_a_control_space_stays_one_token():
    assert restyle(r"a \  , \ b \to c", "im2latex") == r"a \ , \ b \rightarrow c"


def test_unknown_style_is_an_error():
    with pytest.raises(ValueError, match="style must be one of"):
        restyle("x", "fancy")


@needs_latex
def test_both_spellings_render_to_the_same_pixels():
    from img2latex.render import render_chunk

    pairs = [*IM2LATEX_MODERN, *IM2LATEX_ONLY]
    images = [r.image for r in render_chunk(list(enumerate(f for pair in pairs for f in pair)))]
    for k in range(len(pairs)):
        assert images[2 * k] is not None and (images[2 * k] == images[2 * k + 1]).all(), pairs[k]
