from img2latex.tokenizer import Vocab, detokenize, group_end, lex, tokenize


def test_commands_symbols_and_braces():
    assert tokenize(r"\frac{a}{b}") == ["\\frac", "{", "a", "}", "{", "b", "}"]
    assert tokenize(r"x^{2}_i") == ["x", "^", "{", "2", "}", "_", "i"]
    assert tokenize(r"\{ \, \alpha12") == ["\\{", "\\,", "\\alpha", "1", "2"]


def test_left_right_join_their_delimiter():
    assert tokenize(r"\left( x \right.") == ["\\left(", "x", "\\right."]
    assert tokenize(r"\left\{ a \right\rangle") == ["\\left\\{", "a", "\\right\\rangle"]


def test_environments_and_starred_operator_are_single_tokens():
    assert tokenize(r"\begin {array}{cc} \end{array}")[0] == "\\begin{array}"
    assert tokenize(r"\operatorname*{lim}")[0] == "\\operatorname*"


def test_control_space_survives_a_round_trip():
    tokens = tokenize("a \\  b")
    assert tokens == ["a", "\\ ", "b"]
    assert tokenize(detokenize(tokens)) == tokens


def test_lex_records_preceding_space():
    assert [t.spaced for t in lex(r"\frac12 \frac 1 2")] == [False, False, False, True, True, True]


def test_vocab_encode_decode_and_persistence(tmp_path):
    vocab = Vocab.build(["x ^ { 2 }", "x + y"])
    assert vocab.itos[:4] == ["<pad>", "<bos>", "<eos>", "<unk>"]
    ids = vocab.encode("x ^ { 2 }")
    assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
    assert vocab.decode(ids[1:]) == "x ^ { 2 }"
    assert vocab.encode("\\alpha", add_special=False) == [vocab.unk_id]
    vocab.save(tmp_path / "v.json")
    assert Vocab.load(tmp_path / "v.json").itos == vocab.itos


def test_group_end_finds_the_closing_brace_of_the_enclosing_group() -> None:
    tokens = "a { b { c } } d".split()
    assert group_end(tokens, 2) == 6
    assert group_end(tokens, 4) == 5
    assert group_end(tokens, 0) == len(tokens)  # top level
    assert group_end("{ a".split(), 1) == 2  # never closed
