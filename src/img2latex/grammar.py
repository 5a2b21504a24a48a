"""Which tokens may come next, so that what decoding writes is nested LaTeX without runaway blanks.

A `{` closes with `}`, `\\begin{X}` with `\\end{X}` and a `\\left(` with a `\\right)` (any
delimiters), innermost first, and `<eos>` waits until all are closed. Left to itself the
model does not always keep count: reading im2latex-100k's val set, 10.7% of its greedy
outputs did not nest, most often an `\\end{pmatrix}` closing an `\\begin{array}` whose
`\\right)` it then forgot. All 8,475 val labels nest. Decoding sets the logits of the tokens
that would break the nesting to -inf, so the model's next choice among the rest decides.

Spacing commands (`\\;`, `~`, `\\quad`, ...) come at most `MAX_SPACES` in a row. Where the
model has lost its place in a wide image it can fill the blank with `\\;` until the length
limit: 31 of the sixth fine-tune's 8,475 greedy val outputs held a run of more than 50 (one
label does). Its runs of more than two (64 outputs) came mostly where it had lost its place,
though 433 labels have one; `bench/spacing_cap.py` scores the val set at several caps.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .tokenizer import Vocab

SPACING = frozenset({"\\,", "\\:", "\\>", "\\;", "\\!", "~", "\\ ", "\\quad", "\\qquad", "\\enspace",
                     "\\enskip", "\\thinspace", "\\medspace", "\\thickspace", "\\negthinspace"})
MAX_SPACES = 2


class State(NamedTuple):
    """What the rules need to know of a row's tokens so far."""

    open: tuple[str, ...] = ()  # innermost last: "{", "left" or an environment's name
    spaces: int = 0  # spacing commands at the end, in a row


def _group(token: str, end: bool = False) -> str | None:
    """The kind of group `token` opens (with `end`: closes), if any: "{", "left" or an environment."""
    brace, environment, delimiter = ("}", "\\end{", "\\right") if end else ("{", "\\begin{", "\\left")
    if token == brace:
        return "{"
    if token.startswith(environment):
        return token[len(environment) : -1]
    return "left" if _is_delimited(token, delimiter) else None


def _is_delimited(token: str, command: str) -> bool:
    """`\\left(` or `\\right\\}` (the tokenizer joins them), not `\\leftarrow` or `\\rightarrow`."""
    return token.startswith(command) and len(token) > len(command) and not token[len(command)].isalpha()


def nests(latex: str) -> bool:
    """Whether a formula's groups close in the order they opened, and all of them close."""
    stack: list[str] = []
    for token in latex.split():
        if kind := _group(token):
            stack.append(kind)
        elif kind := _group(token, end=True):
            if not stack or stack.pop() != kind:
                return False
    return not stack


class Grammar:
    """The rules over a vocabulary's ids; decoding keeps a `State` for each row."""

    def __init__(self, vocab: Vocab, max_spaces: int | None = MAX_SPACES):
        self.closes = {i: kind for i, t in enumerate(vocab.itos) if (kind := _group(t, end=True))}
        self.closers = np.array(sorted(self.closes), dtype=np.int64)
        self.closers_of = {kind: np.array([i for i, k in self.closes.items() if k == kind], dtype=np.int64)
                           for kind in set(self.closes.values())}
        # An opener whose closer the vocabulary lacks could never be closed: it counts as plain.
        self.opens = {i: kind for i, t in enumerate(vocab.itos) if (kind := _group(t)) in self.closers_of}
        self.spacing_ids = frozenset(i for i, t in enumerate(vocab.itos) if t in SPACING)
        self.spacing = np.array(sorted(self.spacing_ids), dtype=np.int64)
        self.max_spaces = np.inf if max_spaces is None else max_spaces  # None: any number

    def advance(self, state: State, token: int) -> State:
        """The state after `token` (masking made sure a closer matches the innermost)."""
        spaces = state.spaces + 1 if token in self.spacing_ids else 0
        if token in self.opens:
            return State(state.open + (self.opens[token],), spaces)
        return State(state.open[:-1] if token in self.closes else state.open, spaces)

    def mask(self, logits: np.ndarray, states: list[State]) -> np.ndarray:
        """`logits` (rows, vocabulary), one state a row, over the tokens that may come next:
        no closer but the innermost open group's, no `<eos>` while a group is open, and no
        spacing command after `max_spaces` of them in a row.

        While a group is open, the model's wish to stop is read as "close what is open": `<eos>`'s
        probability goes to the innermost group's closers. Banning it alone made the model
        run on to the length limit, writing dots, where it had forgotten a `}` earlier.
        """
        allowed = logits.copy()
        allowed[:, self.closers] = -np.inf
        rows_of: dict[str, list[int]] = {}  # the rows by what they have open innermost
        spaced = []  # the rows that have written `max_spaces` spacing commands in a row
        for row, state in enumerate(states):
            if state.open:
                rows_of.setdefault(state.open[-1], []).append(row)
            if state.spaces >= self.max_spaces:
                spaced.append(row)
        for kind, rows in rows_of.items():  # a few kinds a step, whatever the batch size
            rows_, closers = np.array(rows)[:, None], self.closers_of[kind][None, :]
            allowed[rows_, closers] = np.logaddexp(logits[rows_, closers], logits[rows_, Vocab.eos_id])
            allowed[rows_, Vocab.eos_id] = -np.inf
        if spaced:
            allowed[np.array(spaced)[:, None], self.spacing[None, :]] = -np.inf
        return allowed
