"""Raw LaTeX as written in papers -> im2latex-100k's canonical token form.

The target form is what im2markup's KaTeX-based normalizer prints: space-separated tokens,
sub/superscripts always braced with the subscript first, `{\\rm d}` as `\\mathrm { d }`,
`\\sin` as `\\operatorname { s i n }`, `a \\over b` as `\\frac { a } { b }`, labels and
`\\nonumber` dropped. Canonical text is a fixed point, so normalizing twice changes nothing.
A bare argument glued to its command (`\\frac12`) is braced (`\\frac { 1 } { 2 }`); one
separated by a space (`\\frac 1 2`, as im2latex writes it) is kept as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .tokenizer import Token, detokenize, lex


class NormalizeError(ValueError):
    """The formula cannot be parsed (unbalanced braces, a command without its argument)."""


_ONE_ARG = {
    *"mathrm mathbf mathit mathsf mathtt mathcal mathbb mathfrak mathscr boldsymbol bm".split(),
    *"operatorname operatorname* textrm textbf textit textsf texttt textup textnormal emph".split(),
    *"hat widehat tilde widetilde bar overline underline vec dot ddot dddot check breve".split(),
    *"acute grave mathring overrightarrow overleftarrow overleftrightarrow overbrace".split(),
    *"underbrace sqrt phantom hphantom vphantom boxed fbox hspace hspace* vspace pmod".split(),
    *"mathop mathrel mathbin mathord xrightarrow xleftarrow substack smash".split(),
    *"begin{array} begin{tabular} begin{subarray}".split(),
}
_TWO_ARG = set("frac tfrac cfrac binom dbinom tbinom stackrel overset underset raisebox".split())
_ARITY = {**{"\\" + c: 1 for c in _ONE_ARG}, **{"\\" + c: 2 for c in _TWO_ARG}}
_OPTIONAL_ARG = {"\\sqrt", "\\xrightarrow", "\\xleftarrow"}

_OPERATORS = "sin cos tan cot sec csc sinh cosh tanh coth arcsin arccos arctan exp ln log lg arg deg dim hom ker"
_LIMIT_OPERATORS = "lim liminf limsup max min sup inf det gcd Pr"
_OPERATOR_OF = {
    **{"\\" + n: "\\operatorname" for n in _OPERATORS.split()},
    **{"\\" + n: "\\operatorname*" for n in _LIMIT_OPERATORS.split()},
}
_RENAMED = {"\\text": "\\mathrm", "\\mbox": "\\mathrm", "\\hbox": "\\mathrm", "\\dfrac": "\\frac"}
_DROPPED = {"\\nonumber", "\\notag", "\\>", "$"}
_DROPPED_WITH_ARG = {"\\label", "\\tag", "\\tag*"}
_INFIX_FRACTIONS = {"\\over": "\\frac", "\\choose": "\\binom"}

_TEXT_RE = re.compile(r"(\\(?:text|textrm|textbf|textit|textsf|texttt|textup|textnormal|mbox|hbox|emph)\s*\{)([^{}]*)\}")
_COMMENT_RE = re.compile(r"(?<!\\)%.*$", re.MULTILINE)
_ROW_SPACING_RE = re.compile(r"(\\\\)\s*\[[^\]]*\]")  # the `[2mm]` of `\\[2mm]`: layout only


@dataclass
class Group:
    children: list["Node"]


@dataclass
class Command:
    name: str
    args: list["Node"]
    spaced: list[bool]
    optional: list["Node"] | None = None


@dataclass
class Scripted:
    base: "Node | None"
    sub: "Node | None" = None
    sup: list["Node"] = field(default_factory=list)


Node = Token | Group | Command | Scripted


class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise NormalizeError("formula ends where an argument was expected")
        self.i += 1
        return tok

    def parse_list(self, closing: str | None) -> list[Node]:
        """Nodes up to `closing` (which is consumed) or the end of input when None."""
        nodes: list[Node] = []
        while (tok := self.peek()) is not None and tok.text != closing:
            if tok.text == "}":
                raise NormalizeError("unbalanced '}'")
            if tok.text in ("^", "_", "'") and (tok.text != "'" or nodes):
                self.attach_script(nodes)
            elif (node := self.parse_atom()) is not None:
                nodes.append(node)
        if closing is not None:
            if tok is None:
                raise NormalizeError(f"missing '{closing}'")
            self.take()
        return nodes

    def attach_script(self, nodes: list[Node]) -> None:
        tok = self.take()
        last = nodes[-1] if nodes else None
        if not isinstance(last, Scripted):
            last = Scripted(last)
            if nodes:
                nodes[-1] = last
            else:
                nodes.append(last)
        if tok.text == "'":
            last.sup.append(Token("\\prime"))
        elif tok.text == "^":
            last.sup.append(self.parse_argument())
        else:
            last.sub = self.parse_argument()

    def parse_argument(self) -> Node:
        while (node := self.parse_atom()) is None:
            pass
        return node

    def parse_atom(self) -> Node | None:
        """One token, group or command with its arguments; None for a dropped token."""
        tok = self.take()
        name = _RENAMED.get(tok.text, tok.text)
        if name == "{":
            return Group(self.parse_list("}"))
        if name in _DROPPED:
            return None
        if name in _DROPPED_WITH_ARG:
            self.parse_argument()
            return None
        if name in _OPERATOR_OF:
            letters = [Token(c) for c in name[1:]]
            return Command(_OPERATOR_OF[name], [Group(letters)], [False])
        arity = _ARITY.get(name, 0)
        if not arity:
            return Token(name, tok.spaced)
        optional = None
        if name in _OPTIONAL_ARG and (nxt := self.peek()) is not None and nxt.text == "[":
            self.take()
            optional = self.parse_list("]")
        args: list[Node] = []
        spaced: list[bool] = []
        for _ in range(arity):
            spaced.append(bool((nxt := self.peek()) and nxt.spaced))
            args.append(self.parse_argument())
        return Command(name, args, spaced, optional)


def _emit_list(nodes: list[Node]) -> list[str]:
    """Emit a list, rewriting `\\rm ...` and the infix `\\over`/`\\choose`."""
    for k, node in enumerate(nodes):
        if isinstance(node, Token) and node.text in _INFIX_FRACTIONS:
            left, right = _emit_list(nodes[:k]), _emit_list(nodes[k + 1 :])
            return [_INFIX_FRACTIONS[node.text], "{", *left, "}", "{", *right, "}"]
    out: list[str] = []
    for k, node in enumerate(nodes):
        if isinstance(node, Token) and node.text == "\\rm":
            return [*out, "\\mathrm", "{", *_emit_list(nodes[k + 1 :]), "}"]
        out += _emit(node)
    return out


def _is_rm_group(node: Node) -> bool:
    """`{\\rm d}`: im2markup turns the whole group into `\\mathrm { d }`."""
    if not isinstance(node, Group) or not node.children:
        return False
    first = node.children[0]
    return isinstance(first, Token) and first.text == "\\rm"


def _braced(node: Node) -> list[str]:
    if isinstance(node, Group) and not _is_rm_group(node):
        return ["{", *_emit_list(node.children), "}"]
    return ["{", *_emit(node), "}"]


def _emit(node: Node) -> list[str]:
    if isinstance(node, Token):
        return [node.text]
    if isinstance(node, Group):
        if _is_rm_group(node):
            return _emit_list(node.children)
        return ["{", *_emit_list(node.children), "}"]
    if isinstance(node, Command):
        out = [node.name]
        if node.optional is not None:
            out += ["[", *_emit_list(node.optional), "]"]
        for arg, spaced in zip(node.args, node.spaced):
            out += _emit(arg) if spaced and isinstance(arg, Token) else _braced(arg)
        return out
    out = _emit(node.base) if node.base is not None else []
    if node.sub is not None:
        out += ["_", *_braced(node.sub)]
    if node.sup:
        pieces = [tok for piece in node.sup for tok in _braced(piece)[1:-1]]
        out += ["^", "{", *pieces, "}"]
    return out


def _keep_text_spaces(m: re.Match[str]) -> str:
    """Spaces in `\\text{...}` are visible: keep them as `~`, unless the body is already
    tokenized (im2latex's `\\textrm { a n d }`, single characters between spaces)."""
    body = m.group(2)
    if re.search(r"[A-Za-z]{2}", re.sub(r"\\[A-Za-z]+", "", body)):
        body = re.sub(r"\s", "~", body)
    return m.group(1) + body + "}"


def _prepare(latex: str) -> list[Token]:
    """String-level clean-up im2markup does before parsing, then lexing."""
    latex = _COMMENT_RE.sub("", latex)
    latex = _ROW_SPACING_RE.sub(r"\1", latex)
    latex = _TEXT_RE.sub(_keep_text_spaces, latex)
    tokens = lex(latex)
    if not any(t.text.startswith("\\begin") for t in tokens):
        tokens = [Token("\\,", t.spaced) if t.text == "\\\\" else t for t in tokens]
    return tokens


def normalize(latex: str) -> str:
    """Canonical im2latex form of a LaTeX math formula; raises NormalizeError if unparseable."""
    return detokenize(_emit_list(_Parser(_prepare(latex)).parse_list(None)))
