import numpy as np
import pytest

from img2latex.config import ModelConfig
from img2latex.decoding import beam_search, greedy
from img2latex.grammar import Grammar, nests
from img2latex.tokenizer import Vocab

TOKENS = ["{", "}", "x", "\\begin{array}", "\\end{array}", "\\end{matrix}", "\\left(", "\\right)", "\\right.",
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
    stacks = [(), ("{",), ("{", "array"), ("left",)]
    allowed = np.isfinite(grammar.mask(logits, stacks))
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
    masked = grammar.mask(logits, [("{",)])
    assert masked[0, ID["}"]] == pytest.approx(np.logaddexp(2.0, -1.0))
    assert masked[0].argmax() == ID["}"]


def test_stacks_follow_the_tokens():
    grammar = Grammar(VOCAB)
    stack = ()
    for token in ["\\left(", "\\begin{array}", "{", "x", "}"]:
        stack = grammar.advance(stack, ID[token])
    assert stack == ("left", "array")
    assert grammar.advance((), ID["\\begin{foo}"]) == ()  # no \end{foo} in the vocabulary: never opened


class Scripted:
    """A step model whose logits at step t favour `script[t]` (then `<eos>`), for every row."""

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
        logits[:, self.script[self.t] if self.t < len(self.script) else Vocab.eos_id] = 5.0
        self.t += 1
        return logits


@pytest.mark.parametrize("decode", [greedy, lambda m, x, grammar=None: beam_search(m, x, beam=3, grammar=grammar)[0]])
def test_decoding_with_the_grammar_writes_nested_latex(decode):
    images = np.zeros((1, 1, 8, 8), dtype=np.float32)
    script = ["\\left(", "\\begin{array}", "{", "x", "\\end{matrix}"]  # forgets `}`, closes the wrong environment

    def read(grammar):
        return VOCAB.decode(decode(Scripted(script), images, grammar=grammar)[0].ids)

    assert read(None) == "\\left( \\begin{array} { x \\end{matrix}"
    assert read(Grammar(VOCAB)) == "\\left( \\begin{array} { x } \\end{array} \\right)"
