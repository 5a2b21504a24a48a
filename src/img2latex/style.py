"""Output conventions for glyph-identical spellings: `{ \\cal A }` or `\\mathcal { A }`.

A formula image cannot tell `\\mathcal { A }` from `{ \\cal A }`, or `\\to` from
`\\rightarrow`. Papers use both, so a model trained on raw labels splits its guesses between
them. Training labels and outputs are therefore mapped to one style:

- "im2latex": the spellings im2latex-100k's arXiv papers mostly use, `{ \\cal A }`,
  `{ \\bf v }`, `\\rightarrow`, `\\leq`, `\\ldots` (on the val labels: `\\cal` 1,498 tokens
  against `\\mathcal` 195, `\\bf` 732 against `\\mathbf` 152, `\\rightarrow` 264 against
  `\\to` 125), and im2markup's tables: every cell braced, every row ended by `\\\\`
  (`\\begin{array} { c c } { a } & { b } \\\\ \\end{array}`, as all 471 tables of the val
  labels, arrays, matrices and cases, are). The benchmarks score against this.
- "modern": the LaTeX2e font commands, `\\mathcal { A }`, `\\mathbf { v }`, for pasting into
  new documents.
"""

from __future__ import annotations

from .tokenizer import group_end

STYLES = ("im2latex", "modern")
DEFAULT_STYLE = "im2latex"  # what `LatexOCR` prints and training validation scores
_FONTS = {"\\mathcal": "\\cal", "\\mathbf": "\\bf", "\\mathit": "\\it", "\\mathsf": "\\sf", "\\mathtt": "\\tt"}
_DECLARATIONS = {d: c for c, d in _FONTS.items()}
_IM2LATEX_SYNONYMS = {"\\to": "\\rightarrow", "\\le": "\\leq", "\\ge": "\\geq", "\\ne": "\\neq",
                      "\\dots": "\\ldots", "\\lbrace": "\\{", "\\rbrace": "\\}"}
_TABLES = {"\\begin{" + e + "}" for e in "array subarray matrix pmatrix bmatrix Bmatrix vmatrix Vmatrix smallmatrix "
           "cases aligned split gathered".split()}


def check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")


def restyle(latex: str, style: str) -> str:
    """`latex` (canonical tokens) in `style`; the same tokens where nothing applies."""
    check_style(style)
    tokens = latex.split()  # canonical text: a control space `\\ ` splits into a lone `\\`, joined back the same
    return " ".join(_im2latex(tokens) if style == "im2latex" else _modern(tokens))


def _im2latex(tokens: list[str]) -> list[str]:
    """`\\mathcal { X }` -> `{ \\cal X }`, and the synonyms above."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in _FONTS and tokens[i + 1:i + 2] == ["{"] and (end := group_end(tokens, i + 2)) < len(tokens):
            out += ["{", _FONTS[t], *_im2latex(tokens[i + 2:end]), "}"]
            i = end + 1
            continue
        if t in _TABLES and (end := _environment_end(tokens, i)) < len(tokens):
            out += _table(tokens[i:end + 1])
            i = end + 1
            continue
        out.append(_IM2LATEX_SYNONYMS.get(t, t))
        i += 1
    return out


def _environment_end(tokens: list[str], start: int) -> int:
    """Index of the `\\end{...}` matching the `\\begin{...}` at `start`; len(tokens) if none."""
    depth = 0
    for i in range(start, len(tokens)):
        depth += tokens[i].startswith("\\begin{") - tokens[i].startswith("\\end{")
        if depth == 0:
            return i
    return len(tokens)


def _split(tokens: list[str], separator: str) -> list[list[str]]:
    """`tokens` cut at the `separator`s outside groups and nested environments."""
    parts: list[list[str]] = [[]]
    depth = 0
    for t in tokens:
        depth += (t == "{" or t.startswith("\\begin{")) - (t == "}" or t.startswith("\\end{"))
        if t == separator and depth == 0:
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


def _table(tokens: list[str]) -> list[str]:
    """A whole environment, `\\begin` to `\\end`, with braced cells and `\\\\` after every row."""
    head = 1
    if tokens[0] in ("\\begin{array}", "\\begin{subarray}") and tokens[1:2] == ["{"]:
        head = group_end(tokens, 2) + 1  # the column specification
    rows = _split(tokens[head:-1], "\\\\")
    if len(rows) > 1 and not rows[-1]:
        rows.pop()  # a final `\\\\` is already there
    out = tokens[:head]
    for k, row in enumerate(rows):
        rules = 0
        while row[rules:rules + 1] == ["\\hline"]:
            rules += 1
        out += row[:rules]
        if rules < len(row) or k < len(rows) - 1:  # not a last row of rules only
            cells = [_braced(_im2latex(cell)) for cell in _split(row[rules:], "&")]
            out += [t for cell in cells for t in ["&", *cell]][1:] + ["\\\\"]
    return out + tokens[-1:]


def _braced(cell: list[str]) -> list[str]:
    """A cell as one group: as it is when it is one already."""
    if cell[:1] == ["{"] and group_end(cell, 1) == len(cell) - 1:
        return cell
    return ["{", *cell, "}"]


def _modern(tokens: list[str]) -> list[str]:
    """A declaration applies to the rest of its group: `{ a \\bf x y }` -> `{ a \\mathbf { x y } }`,
    and a group it opens becomes the argument: `{ \\cal A }` -> `\\mathcal { A }`."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t == "{" and tokens[i + 1:i + 2] and tokens[i + 1] in _DECLARATIONS:
            end = group_end(tokens, i + 1)
            out += [_DECLARATIONS[tokens[i + 1]], "{", *_modern(tokens[i + 2:end]), "}"]
            i = end + 1
            continue
        if t in _DECLARATIONS:
            end = group_end(tokens, i + 1)
            out += [_DECLARATIONS[t], "{", *_modern(tokens[i + 1:end]), "}"]
            i = end
            continue
        out.append(t)
        i += 1
    return out

