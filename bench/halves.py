"""Scores on two halves of the images, for the bench scripts that choose a setting: it is
picked on the first half (`tune`), and the second (`check`), which it was not picked on, shows
whether the gain holds. Imported by scripts run as `python bench/NAME.py` (bench/ is then on
the path)."""

from __future__ import annotations

from img2latex.metrics import score

HEADER = "tune BLEU-4 | tune edit distance | tune exact match | check BLEU-4 | check edit distance | check exact match"


def halves(count: int) -> dict[str, range]:
    return {"tune": range(count // 2), "check": range(count // 2, count)}


def cells(references: list[str], predictions: list[str]) -> str:
    """BLEU-4, edit distance and exact match on each half, as Markdown table cells."""
    found = [score([references[i] for i in half], [predictions[i] for i in half])
             for half in halves(len(references)).values()]
    return " | ".join(f"{s.bleu:.4f} | {s.edit_distance:.4f} | {s.exact_match:.2%}" for s in found)
