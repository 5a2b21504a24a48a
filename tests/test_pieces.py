import pytest

from img2latex.grammar import MAX_SPACES
from img2latex.pieces import MARGIN, QUAD, join, joined_score, prefer_pieces, spacing


def test_a_gap_is_spaced_by_the_commands_nearest_its_width():
    assert spacing(1.25 * QUAD) == "\\quad"
    assert spacing(1.5 * QUAD) == spacing(2 * QUAD) == spacing(2.9 * QUAD) == "\\qquad"
    assert spacing(4 * QUAD) == "\\qquad \\qquad"
    assert spacing(40 * QUAD) == " ".join(["\\qquad"] * MAX_SPACES)  # no more in a row than decoding allows


def test_join_spaces_the_readings_by_the_gaps():
    assert join(["a = b", "c = d"], [2 * QUAD]) == "a = b \\qquad c = d"
    assert join(["a", "b", "c"], [QUAD, 2 * QUAD]) == "a \\quad b \\qquad c"
    assert join(["a = b"], []) == "a = b"


def test_join_leaves_out_empty_readings_and_their_gaps():
    assert join(["a", "", "c"], [QUAD, 2 * QUAD]) == "a \\qquad c"
    assert join(["", "c"], [2 * QUAD]) == "c" and join(["a", ""], [2 * QUAD]) == "a"


def test_joined_score_weighs_each_piece_by_its_tokens():
    assert joined_score([-0.1, -0.3], [9, 1]) == pytest.approx(-0.12)
    assert joined_score([-0.2], [5]) == pytest.approx(-0.2)


def test_the_pieces_win_unless_the_whole_scores_clearly_better():
    assert prefer_pieces(whole=-0.10, pieces=-0.05)
    assert prefer_pieces(whole=-0.10, pieces=-0.10 - MARGIN / 2)  # a stop at the gap is sure of what it read
    assert not prefer_pieces(whole=-0.10, pieces=-0.10 - 2 * MARGIN)
