"""The field's metrics over LaTeX token sequences (im2latex's space-separated tokens)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from rapidfuzz.distance import Levenshtein

from .tokenizer import tokenize


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _clipped_matches(ref: Counter, hyp: Counter) -> int:
    return sum(min(c, ref[g]) for g, c in hyp.items())


def bleu_counts(ref: list[str], hyp: list[str], max_n: int = 4) -> list[int]:
    """What corpus BLEU sums over one pair: clipped n-gram matches and n-gram totals (n = 1..max_n),
    then the reference's and the hypothesis's lengths. Sums of these give any subset's BLEU."""
    matches = [_clipped_matches(_ngrams(ref, n), _ngrams(hyp, n)) for n in range(1, max_n + 1)]
    totals = [max(len(hyp) - n + 1, 0) for n in range(1, max_n + 1)]
    return [*matches, *totals, len(ref), len(hyp)]


def bleu_from_counts(sums: Sequence[int], max_n: int = 4) -> float:
    """Corpus BLEU (Papineni et al.) from summed `bleu_counts`: clipped n-gram precisions, their
    geometric mean, brevity penalty."""
    matches, totals, (ref_len, hyp_len) = sums[:max_n], sums[max_n : 2 * max_n], sums[2 * max_n :]
    if hyp_len == 0 or min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
    brevity = min(0.0, 1.0 - ref_len / hyp_len)
    return math.exp(log_precision + brevity)


def corpus_bleu(references: list[list[str]], hypotheses: list[list[str]], max_n: int = 4) -> float:
    """Corpus BLEU-4 over token lists."""
    sums = [0] * (2 * max_n + 2)
    for ref, hyp in zip(references, hypotheses):
        sums = [a + b for a, b in zip(sums, bleu_counts(ref, hyp, max_n))]
    return bleu_from_counts(sums, max_n)


def edit_counts(ref: list[str], hyp: list[str]) -> tuple[int, int]:
    """What corpus edit distance sums over one pair: token edits and the longer side's length."""
    return Levenshtein.distance(ref, hyp), max(len(ref), len(hyp))


def edit_distance(references: list[list[str]], hypotheses: list[list[str]]) -> float:
    """Token Levenshtein distance over the corpus, divided by the longer side's length."""
    counts = [edit_counts(r, h) for r, h in zip(references, hypotheses)]
    size = sum(n for _, n in counts)
    return sum(d for d, _ in counts) / size if size else 0.0


def token_accuracy(references: list[list[str]], hypotheses: list[list[str]]) -> float:
    """Share of reference positions whose token the hypothesis has at the same position."""
    hits = sum(sum(a == b for a, b in zip(r, h)) for r, h in zip(references, hypotheses))
    size = sum(max(len(r), len(h)) for r, h in zip(references, hypotheses))
    return hits / size if size else 1.0


@dataclass
class Scores:
    bleu: float
    edit_distance: float
    exact_match: float
    token_accuracy: float
    count: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def score(references: list[str], hypotheses: list[str]) -> Scores:
    """All metrics for formulas given as strings (tokenized with the project's lexer)."""
    refs = [tokenize(r) for r in references]
    hyps = [tokenize(h) for h in hypotheses]
    exact = sum(r == h for r, h in zip(refs, hyps)) / len(refs) if refs else 0.0
    return Scores(corpus_bleu(refs, hyps), edit_distance(refs, hyps), exact, token_accuracy(refs, hyps), len(refs))
