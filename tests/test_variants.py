import random

from img2latex.cli import main
from img2latex.variants import CLASSES, substitute, variants

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
