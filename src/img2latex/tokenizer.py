"""LaTeX tokens and the vocabulary that maps them to ids.

`tokenize` is the one lexer of the project: the normalizer parses its output and the
model's vocabulary is made of its tokens, so a formula means the same sequence everywhere.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"
SPECIALS = (PAD, BOS, EOS, UNK)

_TOKEN_RE = re.compile(
    r"\\(?:begin|end)\s*\{\s*[a-zA-Z]+\*?\s*\}"  # \begin{array} is one token
    r"|\\(?:operatorname|hspace|vspace|tag)\*"  # starred forms that change meaning
    r"|\\[a-zA-Z]+"  # control words
    r"|\\."  # control symbols: \{ \, \\ and the control space "\ "
    r"|-{2,3}"  # im2latex keeps the dash ligatures as single tokens
    r"|\S"
)
_DELIMITED = ("\\left", "\\right")


@dataclass(frozen=True)
class Token:
    """A token and whether white space stood before it (the normalizer needs to know)."""

    text: str
    spaced: bool = False


def lex(latex: str) -> list[Token]:
    """Split LaTeX into tokens, joining `\\left`/`\\right` with their delimiter."""
    tokens: list[Token] = []
    pos = 0
    for m in _TOKEN_RE.finditer(latex):
        text = m.group(0)
        if text.startswith(("\\begin", "\\end")):
            text = re.sub(r"\s+", "", text)
        spaced = m.start() > pos  # the pattern matches every non-space character
        pos = m.end()
        if tokens and tokens[-1].text in _DELIMITED and text not in _DELIMITED:
            tokens[-1] = Token(tokens[-1].text + text, tokens[-1].spaced)
            continue
        tokens.append(Token(text, spaced))
    return tokens


def tokenize(latex: str) -> list[str]:
    """Tokens of a formula as strings: `x^{2}` gives `['x', '^', '{', '2', '}']`."""
    return [t.text for t in lex(latex)]


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens in im2latex's canonical space-separated form."""
    return " ".join(tokens)


def group_end(tokens: list[str], start: int) -> int:
    """Index of the `}` closing the group that `start` is in; len(tokens) at the top level
    or when it is never closed."""
    depth = 0
    for i in range(start, len(tokens)):
        depth += (tokens[i] == "{") - (tokens[i] == "}")
        if depth < 0:
            return i
    return len(tokens)


class Vocab:
    """Token <-> id mapping with `<pad> <bos> <eos> <unk>` as ids 0-3."""

    def __init__(self, tokens: Iterable[str]):
        self.itos: list[str] = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __len__(self) -> int:
        return len(self.itos)

    @classmethod
    def build(cls, formulas: Iterable[str], min_count: int = 1) -> "Vocab":
        """Vocabulary of the tokens seen at least `min_count` times, most frequent first."""
        counts = Counter(tok for f in formulas for tok in tokenize(f))
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls(kept)

    def encode(self, latex: str, add_special: bool = True) -> list[int]:
        ids = [self.stoi.get(t, self.unk_id) for t in tokenize(latex)]
        return [self.bos_id, *ids, self.eos_id] if add_special else ids

    def decode(self, ids: Iterable[int]) -> str:
        """Ids to canonical LaTeX; stops at `<eos>` and drops the other specials."""
        out: list[str] = []
        for i in ids:
            if i == self.eos_id:
                break
            if i >= len(SPECIALS):
                out.append(self.itos[i])
        return detokenize(out)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.itos, ensure_ascii=False, indent=0), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))
