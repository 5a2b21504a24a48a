"""Symbol-substituted copies of formulas: more training formulas in their authors' habits.

im2latex-100k's labels spell what an image cannot show their authors' way (braces around
`\\frac` from `\\over`, spacing commands, `\\left(`); the corpus's 16,918 formulas in that style
are the only ones that carry those habits, and the model has seen each of them many times. A
copy with its letters, digits and Greek letters consistently replaced keeps every habit and
the layout but shows other glyphs in them, so the model has to read the image rather than
recall the formula (docs/TRAINING.md, "Training data v4").
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable

from .normalize import NormalizeError, normalize
from .tokenizer import detokenize, group_end, tokenize

_GREEK = ("alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi varpi "
          "rho varrho sigma varsigma tau upsilon phi varphi chi psi omega")
_GREEK_UPPER = "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
# A symbol is replaced by one of its own class, so `\mathcal`, `\mathbb` and the like keep
# arguments they can set.
CLASSES: tuple[tuple[str, ...], ...] = (
    tuple(string.ascii_lowercase),
    tuple(string.ascii_uppercase),
    tuple(string.digits),
    tuple("\\" + g for g in _GREEK.split()),
    tuple("\\" + g for g in _GREEK_UPPER.split()),
)
_CLASS_OF = {symbol: cls for cls in CLASSES for symbol in cls}
# Commands whose argument is a word, a name, a size or a column layout: kept as written.
LITERAL = frozenset(
    "\\mathrm \\operatorname \\operatorname* \\mathop \\text \\textrm \\textbf \\textit \\textnormal \\textup "
    "\\textsc \\textsf \\texttt \\mbox \\hbox \\hspace \\hspace* \\vspace \\rule \\raisebox \\makebox "
    "\\begin{array} \\begin{tabular} \\begin{subarray}".split()
)


def _literal_end(tokens: list[str], i: int) -> int:
    """Index after the argument (with an optional `[..]` first) of the literal command at `i`."""
    j = i + 1
    if tokens[j:j + 1] == ["["] and "]" in tokens[j:]:
        j = tokens.index("]", j) + 1
    if tokens[j:j + 1] == ["{"]:
        j = group_end(tokens, j + 1) + 1
    return j


def substitute(tokens: list[str], rng: random.Random, p: float) -> list[str]:
    """`tokens` with each distinct symbol, with probability `p`, replaced everywhere by a random
    one of its class; words, names and sizes (`LITERAL`, and the rest of a group after `\\rm`)
    stay as they are."""
    mapping: dict[str, str] = {}
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        end = _literal_end(tokens, i) if t in LITERAL else group_end(tokens, i + 1) if t == "\\rm" else i + 1
        if end > i + 1:
            out += tokens[i:end]
            i = end
            continue
        if t in _CLASS_OF and t not in mapping:
            mapping[t] = rng.choice(_CLASS_OF[t]) if rng.random() < p else t
        out.append(mapping.get(t, t))
        i += 1
    return out


def variants(formulas: Iterable[str], copies: int, p: float = 0.5, seed: int = 0) -> list[str]:
    """Up to `copies` distinct substituted copies of each formula, normalized; formulas that do
    not normalize are left out, and so are copies equal to their original or to an earlier one."""
    rng = random.Random(seed)
    out: list[str] = []
    for raw in formulas:
        try:
            original = normalize(raw)
        except NormalizeError:
            continue
        tokens = tokenize(original)
        seen = {original}
        for _ in range(copies):
            copy = detokenize(substitute(tokens, rng, p))
            if copy not in seen:
                seen.add(copy)
                out.append(copy)
    return out
