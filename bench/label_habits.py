"""How often do a config's training labels show the val labels' writing habits?

The image does not show whether a fraction was braced (`{ a \\over b }` is labelled
`{ \\frac { a } { b } }`), which spacing command made a blank or whether `(` was `\\left(`: the
model can only learn how often authors wrote each from its training labels. This counts those
habits in each training directory of `--config` (labels respelled in its `data.label_style`, as
training sees them), in the mix its `data.train_repeat` weights make, in the val labels and,
with `--predictions`, in what a model wrote for val (`img2latex evaluate --save-predictions`).

    python bench/label_habits.py --config configs/finetune-v14.yaml
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from compare_predictions import read
from img2latex.config import load_config
from img2latex.data import read_labels
from img2latex.dataset import formulas
from img2latex.grammar import SPACING
from img2latex.tokenizer import tokenize

HABITS = ("formulas", "braced \\frac (share of \\frac)", "\\left( (share of opening parentheses)",
          "spacing commands per formula", "braces per 100 tokens")


def count(labels: Iterable[str]) -> dict[str, int]:
    """Raw counts over formulas, the ratios' numerators and denominators."""
    c = dict.fromkeys(("formulas", "tokens", "frac", "braced_frac", "paren", "left_paren", "spacing", "braces"), 0)
    for formula in labels:
        tokens = tokenize(formula)  # not split(): `\\ ` is one token
        c["formulas"] += 1
        c["tokens"] += len(tokens)
        for i, t in enumerate(tokens):
            c["frac"] += t == "\\frac"
            c["braced_frac"] += t == "\\frac" and i > 0 and tokens[i - 1] == "{"
            c["paren"] += t in ("(", "\\left(")
            c["left_paren"] += t == "\\left("
            c["spacing"] += t in SPACING
            c["braces"] += t == "{"
    return c


def habits(c: dict[str, int]) -> list[str]:
    """The table's cells for one set of counts."""
    def share(a: int, b: int) -> str:
        return f"{a / b:.1%}" if b else "-"
    return [f"{c['formulas']:,}", share(c["braced_frac"], c["frac"]), share(c["left_paren"], c["paren"]),
            f"{c['spacing'] / max(c['formulas'], 1):.2f}", f"{100 * c['braces'] / max(c['tokens'], 1):.1f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--predictions", nargs="*", default=[], help="JSONL files of `evaluate --save-predictions`")
    args = ap.parse_args()
    cfg = load_config(args.config)
    repeat = cfg.data.train_repeat  # as FormulaDataset reads it: 1 where the list stops short
    repeats = [repeat[k] if k < len(repeat) else 1 for k in range(len(cfg.data.train))]
    print(f"`python bench/label_habits.py {' '.join(sys.argv[1:])}`\n")
    print("| labels | " + " | ".join(HABITS) + " |\n|" + " --- |" * (len(HABITS) + 1))
    mix: dict[str, int] = {}
    for directory, repeat in zip(cfg.data.train, repeats):
        c = count(formulas(directory, cfg.data.label_style))
        print(f"| `{directory}` | " + " | ".join(habits(c)) + " |")
        for k, v in c.items():
            mix[k] = mix.get(k, 0) + repeat * v
    print(f"| training mix (`train_repeat` {repeats}) | " + " | ".join(habits(mix)) + " |")
    print(f"| val (`{cfg.data.val}`) | " + " | ".join(habits(count(f for _, f in read_labels(cfg.data.val)))) + " |")
    for path in args.predictions:
        written = [p.get("latex") or "" for p in read(path)]
        print(f"| predicted for val (`{path}`) | " + " | ".join(habits(count(written))) + " |")


if __name__ == "__main__":
    main()
