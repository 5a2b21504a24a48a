"""The field's metrics over LaTeX token sequences (im2latex's space-separated tokens)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass

from rapidfuzz.distance import Levenshtein

from .tokenizer import tokenize


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(references: list[list[str]], hypotheses: list[list[str]], max_n: int = 4) -> float:
    """Corpus BLEU-4 (Papineni et al.): clipped n-gram precisions, geometric mean, brevity penalty."""
    matches, totals = [0] * max_n, [0] * max_n
    ref_len = hyp_len = 0
    for ref, hyp in zip(references, hypotheses):
        ref_len, hyp_len = ref_len + len(ref), hyp_len + len(hyp)
        for n in range(1, max_n + 1):
            h, r = _ngrams(hyp, n), _ngrams(ref, n)
            matches[n - 1] += sum(min(c, r[g]) for g, c in h.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    if hyp_len == 0 or min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / max_n
    brevity = min(0.0, 1.0 - ref_len / hyp_len)
    return math.exp(log_precision + brevity)


def edit_distance(references: list[list[str]], hypotheses: list[list[str]]) -> float:
    """Token Levenshtein distance over the corpus, divided by the longer side's length."""
    dist = sum(Levenshtein.distance(r, h) for r, h in zip(references, hypotheses))
    size = sum(max(len(r), len(h)) for r, h in zip(references, hypotheses))
    return dist / size if size else 0.0


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
