import math

import pytest

from img2latex.metrics import (bleu_counts, bleu_from_counts, corpus_bleu, edit_counts, edit_distance, score,
                               token_accuracy)


def test_identical_corpus_scores_perfectly():
    s = score(["x ^ { 2 } + y ^ { 2 }"], ["x ^ { 2 } + y ^ { 2 }"])
    assert (s.bleu, s.edit_distance, s.exact_match, s.token_accuracy) == (1.0, 0.0, 1.0, 1.0)


def test_bleu_known_value():
    ref = ["a", "b", "c", "d", "e"]
    hyp = ["a", "b", "c", "d", "f"]
    # precisions 4/5, 3/4, 2/3, 1/2; same length, so no brevity penalty
    expected = math.exp((math.log(4 / 5) + math.log(3 / 4) + math.log(2 / 3) + math.log(1 / 2)) / 4)
    assert corpus_bleu([ref], [hyp]) == pytest.approx(expected)


def test_bleu_brevity_penalty_and_zero_cases():
    ref = list("abcdefgh")
    assert corpus_bleu([ref], [list("abcd")]) == pytest.approx(math.exp(1 - 8 / 4))
    assert corpus_bleu([ref], [[]]) == 0.0


def test_bleu_counts_sum_to_the_corpus_score():
    """A corpus's BLEU from its pairs' summed counts (what bench/compare_predictions.py resamples)
    is not the mean of the pairs' own BLEU: the pairs' n-grams pool."""
    refs, hyps = [list("abcde"), list("xyzw")], [list("abcdf"), list("xyzwv")]
    sums = [a + b for a, b in zip(*(bleu_counts(r, h) for r, h in zip(refs, hyps)))]
    assert sums[:4] == [4 + 4, 3 + 3, 2 + 2, 1 + 1] and sums[8:] == [9, 10]
    assert bleu_from_counts(sums) == pytest.approx(corpus_bleu(refs, hyps))
    expected = math.exp(sum(math.log(m / t) for m, t in zip([8, 6, 4, 2], [10, 8, 6, 4])) / 4)
    assert bleu_from_counts(sums) == pytest.approx(expected)  # longer than the references: no penalty


def test_edit_distance_and_token_accuracy_known_values():
    refs, hyps = [["a", "b", "c", "d"]], [["a", "x", "c"]]
    assert edit_distance(refs, hyps) == pytest.approx(2 / 4)  # one substitution, one deletion
    assert token_accuracy(refs, hyps) == pytest.approx(2 / 4)


def test_edit_counts_pool_over_the_corpus():
    """The corpus distance pools edits and lengths (a long pair weighs more), not per-pair ratios."""
    refs, hyps = [list("ab"), list("abcdefgh")], [list("xy"), list("abcdefgh")]
    assert [edit_counts(r, h) for r, h in zip(refs, hyps)] == [(2, 2), (0, 8)]
    assert edit_distance(refs, hyps) == pytest.approx(2 / 10)


def test_exact_match_is_per_formula():
    s = score(["a + b", "c"], ["a + b", "d"])
    assert s.exact_match == 0.5 and s.count == 2
