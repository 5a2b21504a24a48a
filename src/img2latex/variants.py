"""Symbol-substituted copies of formulas: more training formulas in their authors' habits.

im2latex-100k's labels spell what an image cannot show their authors' way (braces around
`\\frac` from `\\over`, spacing commands, `\\left(`); the corpus's 16,918 formulas in that style
are the only ones that carry those habits, and the model has seen each of them many times. A
copy with its letters, digits and Greek letters consistently replaced keeps every habit and
the layout but shows other glyphs in them, so the model has to read the image rather than
recall the formula (docs/TRAINING.md, "Training data v4").

Copies can also get spacing commands (`\\,`, `~`, `\\quad`, ...) between their atoms: val's
labels hold 1.41 a formula, rvente/TeXNet's 0.31, and the fourteenth fine-tune, trained on
them, writes 0.69 (bench/label_habits.py), most often leaving out a `\\,`. Rendered, an added
command shows as a blank of its width, so the model learns to read blanks; which command fills
a gap is drawn from the formulas' own mix of them (docs/TRAINING.md, "Training data v6").
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter
from collections.abc import Iterable

from .grammar import SPACING
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


# A spacing command may not come before these (they belong to the atom before them) ...
_NO_SPACE_BEFORE = frozenset("{ } [ ] ^ _ ' & \\\\ \\limits \\nolimits".split()) | SPACING
# ... nor after these (they need what follows them: a script, a delimiter, a relation).
_NO_SPACE_AFTER = frozenset("^ _ \\not".split()) | SPACING
_SIZER = re.compile(r"\\[bB]igg?[lrm]?")
_NUMERAL = frozenset(string.digits + ".")  # `1 . 5 4` is one number to a reader


def _gaps(tokens: list[str]) -> list[int]:
    """Indices `i` where a spacing command can go before `tokens[i]`: between two whole atoms
    outside any braces and any number, where authors space most."""
    gaps: list[int] = []
    depth = 0
    for i, (before, token) in enumerate(zip(tokens, tokens[1:]), start=1):
        depth += (before == "{") - (before == "}")
        if (depth == 0 and token not in _NO_SPACE_BEFORE and before not in _NO_SPACE_AFTER
                and not token.startswith(("\\right", "\\end{")) and not _SIZER.fullmatch(before)
                and not (before in _NUMERAL and token in _NUMERAL)):
            gaps.append(i)
    return gaps


def spacing_mix(formulas: Iterable[list[str]]) -> Counter[str]:
    """How often each spacing command occurs in tokenized formulas."""
    return Counter(t for tokens in formulas for t in tokens if t in SPACING)


def respace(tokens: list[str], rng: random.Random, spaces: float, mix: Counter[str]) -> list[str]:
    """`tokens` with, on average, `spaces` spacing commands drawn from `mix` put into its gaps."""
    gaps = _gaps(tokens)
    chance = min(1.0, spaces / len(gaps)) if gaps else 0.0
    commands, weights = list(mix), list(mix.values())
    out = list(tokens)
    for i in reversed(gaps):
        if rng.random() < chance:
            out.insert(i, rng.choices(commands, weights)[0])
    return out


def variants(formulas: Iterable[str], copies: int, p: float = 0.5, seed: int = 0, spaces: float = 0.0) -> list[str]:
    """Up to `copies` distinct substituted copies of each formula, normalized, each with on
    average `spaces` spacing commands added; formulas that do not normalize are left out, and so
    are copies equal to their original or to an earlier one."""
    rng = random.Random(seed)
    originals: list[list[str]] = []
    for raw in formulas:
        try:
            originals.append(tokenize(normalize(raw)))
        except NormalizeError:
            continue
    mix = spacing_mix(originals)
    if spaces and not mix:
        raise ValueError("the formulas hold no spacing command to draw the added ones from")
    out: list[str] = []
    for tokens in originals:
        seen = {detokenize(tokens)}
        for _ in range(copies):
            copy = substitute(tokens, rng, p)
            copy = detokenize(respace(copy, rng, spaces, mix) if spaces else copy)
            if copy not in seen:
                seen.add(copy)
                out.append(copy)
    return out
