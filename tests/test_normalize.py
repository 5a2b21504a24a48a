import pytest

from conftest import VAL, needs_val
from img2latex.data import read_labels
from img2latex.normalize import NormalizeError, normalize
from img2latex.tokenizer import tokenize


@pytest.mark.parametrize("raw, canonical", [
    (r"x^2", r"x ^ { 2 }"),
    (r"\frac12", r"\frac { 1 } { 2 }"),
    (r"{\rm d}x", r"\mathrm { d } x"),
    (r"x^2_i", r"x _ { i } ^ { 2 }"),
    (r"f'(x)", r"f ^ { \prime } ( x )"),
    (r"\sin x", r"\operatorname { s i n } x"),
    (r"\lim_{n\to\infty}", r"\operatorname* { l i m } _ { n \to \infty }"),
    (r"{a \over b}", r"{ \frac { a } { b } }"),
    (r"\text{if } x", r"\mathrm { i f ~ } x"),
    (r"\left(\frac{a}{b}\right)", r"\left( \frac { a } { b } \right)"),
    (r"\sqrt[3]{x}", r"\sqrt [ 3 ] { x }"),
    (r"\hat\alpha", r"\hat { \alpha }"),
    (r"x \label{eq:1} = 1 \nonumber", r"x = 1"),
    (r"x^{\rm T}", r"x ^ { \mathrm { T } }"),
    (r"a\\b", r"a \, b"),
    (r"e^{i\pi} % a comment", r"e ^ { i \pi }"),
    (r"\begin{array}{cc} a & b \\[2mm] c & d \end{array}", r"\begin{array} { c c } a & b \\ c & d \end{array}"),
])
def test_raw_to_canonical(raw, canonical):
    assert normalize(raw) == canonical


def test_canonical_form_is_a_fixed_point():
    for canonical in [r"\frac 1 2", r"\hat x", r"{ \bf C } _ { i }", r"\mathrm { e } ^ { - l \zeta }"]:
        assert normalize(canonical) == canonical
        assert normalize(normalize(canonical)) == canonical


@pytest.mark.parametrize("bad", ["{x", "x}", r"\frac{a}", "x^"])
def test_unparseable_formulas_raise(bad):
    with pytest.raises(NormalizeError):
        normalize(bad)


@needs_val
def test_val_labels_are_left_unchanged():
    labels = [formula for _, formula in read_labels(VAL)[:1000]]
    unchanged = sum(tokenize(normalize(f)) == tokenize(f) for f in labels)
    assert unchanged / len(labels) >= 0.99
