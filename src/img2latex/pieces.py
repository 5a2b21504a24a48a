"""Wide blank gaps: an image is also read piece by piece where one splits it.

Where a formula has a wide gap (`a = b \\qquad c = d`), the model often ends its reading at the
gap and drops the rest: read whole, 4.8% of the val images whose widest blank gap is under a
glyph height come out under 80% of their label's length, and 22.5% of those with a gap over
four. So `image.prepare_inputs` cuts an image at blank gaps at least `SPLIT_GAP` glyph heights
wide (a `\\qquad` measures about four, a `\\quad` two, as does a table's column gap); each
piece is read apart, and the readings, joined by the spacing commands each gap's width
suggests, compete with the reading of the whole image. The pieces win unless their score is
more than `MARGIN` below the whole's: a reading that stops at the gap is sure of the part it
read, so the mean log-probability favours it. Measured by `python bench/split_gaps.py`
(docs/INFERENCE.md, "Wide gaps").
"""

from __future__ import annotations

from .grammar import MAX_SPACES

SPLIT_GAP = 2.5  # glyph heights
QUAD = 2.0  # glyph heights a `\quad` spans; a `\qquad` twice that (val medians 2.09 and 4.17, bench/split_gaps.py)
MARGIN = 0.05  # mean token log-probability


def spacing(gap: float) -> str:
    """The spacing command(s) a gap `gap` glyph heights wide is written with: the nearer of
    `\\quad` and `\\qquad`, or as many `\\qquad`s as fit (at most `grammar.MAX_SPACES`)."""
    quads = gap / QUAD
    return "\\quad" if quads < 1.5 else " ".join(["\\qquad"] * min(MAX_SPACES, round(quads / 2)))


def join(readings: list[str], gaps: list[float]) -> str:
    """The pieces' readings, left to right, with the `spacing` of each gap between two that are
    not empty."""
    text = readings[0]
    for gap, reading in zip(gaps, readings[1:]):
        if reading:
            text = f"{text} {spacing(gap)} {reading}" if text else reading
    return text


def joined_score(scores: list[float], lengths: list[int]) -> float:
    """The mean token log-probability of the pieces' readings together, from each one's mean
    and its number of tokens (`<eos>` included)."""
    return sum(s * n for s, n in zip(scores, lengths)) / sum(lengths)


def prefer_pieces(whole: float, pieces: float) -> bool:
    """Whether the joined pieces' reading (score `pieces`) is taken over the whole's (`whole`)."""
    return pieces > whole - MARGIN
