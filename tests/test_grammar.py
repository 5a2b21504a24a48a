import numpy as np
import pytest

from img2latex.config import ModelConfig
from img2latex.decoding import beam_search, greedy
from img2latex.grammar import Grammar, State, nests
from img2latex.tokenizer import Vocab

TOKENS = ["{", "}", "x", "\\;", "~", "\\begin{array}", "\\end{array}", "\\end{matrix}", "\\left(", "\\right)", "\\right.",
          "\\rightarrow", "\\begin{foo}"]
VOCAB = Vocab(TOKENS)
ID = VOCAB.stoi


@pytest.mark.parametrize("latex, expected", [
    ("x ^ { 2 }", True),
    ("\\left( \\begin{array} { c } { 1 } \\\\ \\end{array} \\right)", True),
    ("\\left\\{ x \\right.", True),
    ("x \\rightarrow y \\leftarrow z", True),  # arrows are not delimiters
    ("x ^ { 2", False),
    ("x } {", False),
    ("\\left( \\begin{array} { c } \\end{pmatrix}", False),
    ("\\left( { x \\right) }", False),
])
def test_nests(latex, expected):
    assert nests(latex) is expected


def test_only_the_innermost_group_may_close():
    grammar = Grammar(VOCAB)
    logits = np.zeros((4, len(VOCAB)), dtype=np.float32)
    states = [State(), State(("{",)), State(("{", "array")), State(("left",))]
    allowed = np.isfinite(grammar.mask(logits, states))
    closers = ["}", "\\end{array}", "\\end{matrix}", "\\right)", "\\right."]
    assert {t for t in closers if allowed[0, ID[t]]} == set()
    assert {t for t in closers if allowed[1, ID[t]]} == {"}"}
    assert {t for t in closers if allowed[2, ID[t]]} == {"\\end{array}"}
    assert {t for t in closers if allowed[3, ID[t]]} == {"\\right)", "\\right."}
    assert allowed[0, Vocab.eos_id] and not allowed[1:, Vocab.eos_id].any()
    assert allowed[:, ID["\\rightarrow"]].all() and allowed[:, ID["x"]].all()


def test_the_wish_to_stop_closes_the_innermost_group():
    grammar = Grammar(VOCAB)
    logits = np.full((1, len(VOCAB)), -5.0, dtype=np.float32)
    logits[0, Vocab.eos_id], logits[0, ID["}"]] = 2.0, -1.0
    masked = grammar.mask(logits, [State(("{",))])
    assert masked[0, ID["}"]] == pytest.approx(np.logaddexp(2.0, -1.0))
    assert masked[0].argmax() == ID["}"]


def test_states_follow_the_tokens():
    grammar = Grammar(VOCAB)
    state = State()
    for token in ["\\left(", "\\begin{array}", "{", "x", "}", "\\;", "~"]:
        state = grammar.advance(state, ID[token])
    assert state == State(("left", "array"), spaces=2)
    assert grammar.advance(state, ID["x"]).spaces == 0
    assert grammar.advance(State(), ID["\\begin{foo}"]) == State()  # no \end{foo} in the vocabulary: never opened


def test_spacing_commands_come_at_most_max_spaces_in_a_row():
    logits = np.zeros((2, len(VOCAB)), dtype=np.float32)
    states = [State(spaces=1), State(spaces=2)]
    allowed = np.isfinite(Grammar(VOCAB, max_spaces=2).mask(logits, states))
    assert allowed[0, ID["\\;"]] and allowed[0, ID["~"]]
    assert not allowed[1, ID["\\;"]] and not allowed[1, ID["~"]] and allowed[1, ID["x"]] and allowed[1, Vocab.eos_id]
    assert np.isfinite(Grammar(VOCAB, max_spaces=None).mask(logits, states))[:, ID["\\;"]].all()


class Scripted:
    """A step model whose logits at step t favour `script[t]` (then `<eos>`), then `x`, for every row."""

    def __init__(self, script: list[str]):
        self.cfg = ModelConfig(vocab_size=len(VOCAB), max_tokens=16)
        self.script, self.t = [ID[s] for s in script], 0

    def start(self, images: np.ndarray) -> "Scripted":
        self.t, self.rows = 0, len(images)
        return self

    def reorder(self, rows: np.ndarray, images: np.ndarray | None = None) -> "Scripted":
        self.rows = len(rows)
        return self

    def step(self, cache: "Scripted", tokens: np.ndarray) -> np.ndarray:
        logits = np.zeros((len(tokens), len(VOCAB)), dtype=np.float32)
        logits[:, ID["\\right)"]] = 0.1  # rather than `\right.`: no ties between readings
        logits[:, ID["x"]] = 0.05
        logits[:, self.script[self.t] if self.t < len(self.script) else Vocab.eos_id] = 5.0
        self.t += 1
        return logits


DECODERS = [greedy, lambda m, x, grammar=None: beam_search(m, x, beam=3, grammar=grammar)[0]]


@pytest.mark.parametrize("decode", DECODERS)
def test_decoding_with_the_grammar_writes_nested_latex(decode):
    images = np.zeros((1, 1, 8, 8), dtype=np.float32)
    script = ["\\left(", "\\begin{array}", "{", "x", "\\end{matrix}"]  # forgets `}`, closes the wrong environment

    def read(grammar):
        return VOCAB.decode(decode(Scripted(script), images, grammar=grammar)[0].ids)

    assert read(None) == "\\left( \\begin{array} { x \\end{matrix}"
    assert read(Grammar(VOCAB)) == "\\left( \\begin{array} { x } \\end{array} \\right)"


@pytest.mark.parametrize("decode", DECODERS)
def test_decoding_with_the_grammar_stops_a_run_of_blanks(decode):
    images = np.zeros((1, 1, 8, 8), dtype=np.float32)
    script = ["x", "\\;", "\\;", "\\;", "\\;", "x"]  # then `<eos>`
    read = VOCAB.decode(decode(Scripted(script), images, grammar=Grammar(VOCAB, max_spaces=2))[0].ids)
    assert read == "x \\; \\; x \\; x"  # the third in a row gives way to the runner-up
