import random
from collections import Counter

import pytest

from img2latex.cli import main
from img2latex.grammar import SPACING
from img2latex.variants import CLASSES, respace, spacing_mix, substitute, variants

FORMULA = "\\frac { a } { a b } + { \\cal F } _ { 1 2 } ( \\alpha ) = \\Gamma ^ { 2 } \\, c"
LITERALS = [  # words, names, sizes and column layouts: nothing in them may change
    "\\mathrm { d x }",
    "\\operatorname* { l i m }",
    "\\begin{array} { c c }",
    "\\begin{array} [ t ] { l r }",
    "{ \\rm d x }",
    "\\hspace { 1 c m } \\textrm { f o r 2 }",
]


def _class(token: str) -> int | None:
    return next((k for k, cls in enumerate(CLASSES) if token in cls), None)


def test_substitution_is_consistent_and_keeps_classes_and_layout() -> None:
    tokens = FORMULA.split()
    for seed in range(20):
        out = substitute(tokens, random.Random(seed), p=1.0)
        assert len(out) == len(tokens)
        mapping: dict[str, str] = {}
        for before, after in zip(tokens, out):
            assert _class(before) == _class(after)
            if _class(before) is None:
                assert before == after  # braces, commands, operators and spacing stay
            assert mapping.setdefault(before, after) == after  # the same symbol, the same replacement


def test_substitution_changes_symbols() -> None:
    outs = {" ".join(substitute(FORMULA.split(), random.Random(seed), p=1.0)) for seed in range(20)}
    assert len(outs) > 15


def test_words_names_sizes_and_layouts_stay() -> None:
    for formula in LITERALS:
        for seed in range(10):
            assert substitute(formula.split(), random.Random(seed), p=1.0) == formula.split()


def test_literal_arguments_are_untouched_while_the_rest_changes() -> None:
    tokens = "\\mathrm { d x } + x".split()
    out = substitute(tokens, random.Random(0), p=1.0)
    assert out[:5] == tokens[:5]
    seeds = [substitute(tokens, random.Random(s), p=1.0)[-1] for s in range(10)]
    assert set(seeds) != {"x"}


def test_variants_normalize_and_drop_copies_equal_to_the_original() -> None:
    assert variants(["x^2+y"], copies=3, p=0.0) == []
    copies = variants(["x^2+y", "\\frac12 \\undefinedcommand{"], copies=5, p=1.0, seed=1)
    assert 1 <= len(copies) <= 5 and len(set(copies)) == len(copies)
    for c in copies:
        assert c != "x ^ { 2 } + y"
        assert c.split()[1:4] == ["^", "{", c.split()[3]] and c.split()[4:6] == ["}", "+"]


def test_cli_writes_the_selected_sources_copies(tmp_path) -> None:
    corpus = tmp_path / "formulas.tsv"
    corpus.write_text("paper\tE = m c ^ { 2 }\nnotes\t\\alpha + \\beta\n", encoding="utf-8")
    out = tmp_path / "variants.txt"
    assert main(["variants", "--formulas", str(corpus), "--sources", "paper", "--copies", "4", "--p", "1",
                 "--out", str(out)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines and all(line.split()[1] == "=" and "\\alpha" not in line for line in lines)
    # spacing to add but none in the formulas to draw it from: one clear line, no traceback
    assert main(["variants", "--formulas", str(corpus), "--spaces", "1", "--out", str(out)]) == 2


MIX = Counter({"\\;": 3, "~": 1})


def test_spacing_goes_only_between_whole_atoms_outside_braces_and_numbers() -> None:
    tokens = "\\frac { a } { b } ^ { 2 } + \\big | \\left( x _ { 1 } \\right) = 1 2 . 5 \\, y".split()
    before_added: set[str] = set()
    for seed in range(200):
        out = respace(tokens, random.Random(seed), spaces=3.0, mix=MIX)
        assert [t for t in out if t not in MIX] == tokens  # only spacing commands are added
        before_added |= {after for t, after in zip(out, out[1:]) if t in MIX}
    # not into a group, before a script or a closing delimiter, after a sizer, inside a number
    # or beside another spacing command
    assert before_added == {"+", "\\big", "\\left(", "x", "=", "1"}


def test_respace_adds_about_the_asked_number_from_the_mix() -> None:
    tokens = "a + b + c + d + e + f + g + h".split()
    added = [t for seed in range(400) for t in respace(tokens, random.Random(seed), 1.5, MIX) if t in MIX]
    assert 1.3 < len(added) / 400 < 1.7
    assert 0.65 < added.count("\\;") / len(added) < 0.85  # the mix's 3 : 1
    assert respace(tokens, random.Random(0), 0.0, MIX) == tokens


def test_variants_draw_spacing_from_the_formulas_own_mix() -> None:
    formulas = ["a + b = c \\; d", "x + y - z"]
    copies = variants(formulas, copies=10, p=0.0, seed=3, spaces=2.0)
    spacing = [t for c in copies for t in c.split() if t in SPACING]
    assert set(spacing) == {"\\;"} and len(spacing) > len(copies)  # the only one the formulas use
    assert spacing_mix([f.split() for f in formulas]) == Counter({"\\;": 1})
    with pytest.raises(ValueError, match="no spacing command"):
        variants(["x + y"], copies=1, spaces=1.0)
