"""Where the edits between predictions and references are, by kind of token.

im2latex-100k's references keep their authors' invisible choices: redundant braces
(`{ \\frac ... }` from `{a \\over b}`, `{ \\psi } _ { 0 }`) and one of several spacing commands
that differ by a pixel or two (`\\,` `\\:` `\\;` `~` `\\ `). This counts the token edits of a
`img2latex evaluate --save-predictions FILE` run by kind, lists the commonest, and scores the
predictions again with spacing commands and then braces left out of both sides: how much of the
gap is what an image cannot show.

    python bench/error_analysis.py results/val-greedy-predictions.jsonl
"""

from __future__ import annotations

import argparse
from collections import Counter
from itertools import groupby

from compare_predictions import read
from rapidfuzz.distance import Levenshtein

from img2latex.grammar import SPACING as GRAMMAR_SPACING
from img2latex.metrics import score

SPACING = GRAMMAR_SPACING | {"\\"}  # `\ ` as the saved predictions split on whitespace
BRACES = {"{", "}"}
SCRIPTS = {"^", "_"}


def kind(token: str) -> str:
    if token in BRACES:
        return "brace"
    if token in SPACING:
        return "spacing"
    if token in SCRIPTS:
        return "script"
    return "other"


def edits(pairs: list[tuple[list[str], list[str]]]) -> dict[str, Counter]:
    """Each Levenshtein edit, keyed by its tag: the deleted, inserted or (reference, prediction) token."""
    found = {"delete": Counter(), "insert": Counter(), "replace": Counter()}
    for ref, hyp in pairs:
        for op in Levenshtein.editops(ref, hyp):
            if op.tag == "replace":
                found[op.tag][ref[op.src_pos], hyp[op.dest_pos]] += 1
            else:
                found[op.tag][ref[op.src_pos] if op.tag == "delete" else hyp[op.dest_pos]] += 1
    return found


def by_kind(found: dict[str, Counter]) -> Counter:
    """Edits per kind; a substitution counts for the kind of the reference's token."""
    kinds = Counter()
    for tag, counts in found.items():
        for key, n in counts.items():
            kinds[kind(key[0] if tag == "replace" else key)] += n
    return kinds


def without(tokens: list[str], dropped: set[str]) -> list[str]:
    return [t for t in tokens if t not in dropped]


def longest_blank(tokens: list[str]) -> int:
    """The most spacing commands in a row."""
    return max((len(list(run)) for spacing, run in groupby(tokens, SPACING.__contains__) if spacing), default=0)


def wrapped_fractions(tokens: list[str]) -> int:
    return sum(t == "\\frac" and i > 0 and tokens[i - 1] == "{" for i, t in enumerate(tokens))


def runaways(pairs: list[tuple[list[str], list[str]]]) -> tuple[int, int]:
    """Predictions over 1.5 times their reference's length and 5 tokens more, mostly a decoder
    caught in a loop (`{ } & { } & ...` to the length cap): how many, and the edits they hold."""
    long = [(r, h) for r, h in pairs if len(h) > 1.5 * len(r) + 5]
    return len(long), sum(Levenshtein.distance(r, h) for r, h in long)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("predictions", help="JSONL written by `img2latex evaluate --save-predictions`")
    ap.add_argument("--top", type=int, default=12, help="how many of the commonest edits to list")
    args = ap.parse_args()
    pairs = [(p["reference"].split(), (p["latex"] or "").split()) for p in read(args.predictions)]
    found = edits(pairs)
    total = sum(sum(c.values()) for c in found.values())
    print(f"`python bench/error_analysis.py {args.predictions}`: {len(pairs)} images, "
          f"{sum(len(r) for r, _ in pairs)} reference tokens, {total} token edits\n")
    print("| edits on | count | share |\n| --- | --- | --- |")
    for name, n in by_kind(found).most_common():
        print(f"| {name} tokens | {n} | {n / total:.1%} |")
    print("\n| scored with | BLEU-4 | edit distance | exact match |\n| --- | --- | --- | --- |")
    for label, dropped in (("every token", set()), ("spacing commands left out", SPACING),
                           ("spacing commands and braces left out", SPACING | BRACES)):
        s = score([" ".join(without(r, dropped)) for r, _ in pairs], [" ".join(without(h, dropped)) for _, h in pairs])
        print(f"| {label} | {s.bleu:.4f} | {s.edit_distance:.4f} | {s.exact_match:.2%} |")
    print("\n| spacing commands in a row | references | predictions |\n| --- | --- | --- |")
    for n in (2, 8, 50):
        print(f"| more than {n} | {sum(longest_blank(r) > n for r, _ in pairs)} | {sum(longest_blank(h) > n for _, h in pairs)} |")
    print(f"\n`{{ \\frac`: {sum(wrapped_fractions(r) for r, _ in pairs)} in the references, "
          f"{sum(wrapped_fractions(h) for _, h in pairs)} in the predictions\n")
    print("Predictions over 1.5 times their reference's length and 5 tokens more (a decoder in a loop): "
          "{} images, {} token edits\n".format(*runaways(pairs)))
    for tag, title in (("replace", "reference → prediction"), ("delete", "missing"), ("insert", "extra")):
        listed = ", ".join(f"`{' → '.join(k) if tag == 'replace' else k}` {n}" for k, n in found[tag].most_common(args.top))
        print(f"- {title}: {listed}")


if __name__ == "__main__":
    main()
