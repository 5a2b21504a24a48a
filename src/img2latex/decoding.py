"""Greedy and beam search over a batch of images, one cached decoder step at a time.

Both return, per image, token ids without specials and the mean log-probability of the
emitted tokens (`<eos>` included) as a confidence score. They work on numpy arrays, so the
same code drives the PyTorch model (`torch_model`) and the ONNX graphs (`onnx_model`), and
the ONNX path never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol

import numpy as np

from .config import ModelConfig
from .grammar import Grammar, State
from .tokenizer import Vocab


class Cache(Protocol):
    def reorder(self, rows: np.ndarray, images: np.ndarray | None = None) -> "Cache":
        """The cache of the decoding rows in `rows` and of the images in `images` (None: all).
        Rows i*k .. i*k+k-1 read image i, for k = rows / images."""
        ...


class StepModel(Protocol):
    """What decoding needs of a model: `torch_model.TorchModel` or `onnx_model.OnnxModel`.

    `start` takes images (B, 1, H, W) float32; `step` takes tokens (B, 1) int64, returns
    float32 logits (B, V) and advances the cache by those tokens.
    """

    cfg: ModelConfig

    def start(self, images: np.ndarray) -> Cache: ...

    def step(self, cache: Any, tokens: np.ndarray) -> np.ndarray: ...


# A reading where a unit of at most LOOP_UNIT tokens comes back to back over LOOP_SPAN tokens is
# taken for a decoder caught in a loop (`{ } & { } & ...`, `c c c ...`): 3 of the 8,475 val
# formulas repeat a unit so long (two runs of `~`, which the grammar caps in a reading, and
# `, \ 1` 13 times), and none is longer than 150 tokens, where a loop runs on to the length cap.
LOOP_UNIT, LOOP_SPAN = 8, 30


@dataclass
class Hypothesis:
    ids: list[int]
    score: float  # mean token log-probability
    ended: bool = True  # emitted `<eos>`, rather than cut off at the length cap


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over the last axis, in float32."""
    shifted = logits.astype(np.float32, copy=False) - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def _logp(model: StepModel, cache: Any, token: np.ndarray, grammar: Grammar | None, states: list[State]) -> np.ndarray:
    """Next-token log-probabilities of each row, over the tokens `grammar` allows there."""
    logits = model.step(cache, token)
    return log_softmax(logits if grammar is None else grammar.mask(logits, states))


def _advance(grammar: Grammar | None, states: list[State], tokens: list[int]) -> list[State]:
    return states if grammar is None else [grammar.advance(s, t) for s, t in zip(states, tokens)]


def greedy(model: StepModel, images: np.ndarray, max_len: int | None = None,
           grammar: Grammar | None = None) -> list[Hypothesis]:
    """Most likely token at each step (among those `grammar` allows, if given). A row leaves
    the batch (and the cache) as soon as it emits `<eos>`, so long formulas do not make the
    short ones in their batch pay."""
    max_len = min(max_len or model.cfg.max_tokens, model.cfg.max_tokens) - 1
    b = images.shape[0]
    cache = model.start(images)
    token = np.full((b, 1), Vocab.bos_id, dtype=np.int64)
    out = np.full((b, max_len), Vocab.pad_id, dtype=np.int64)
    logp_sum, length = np.zeros(b), np.zeros(b)
    live = np.arange(b)  # the batch row of each row still decoding
    states = [State()] * b  # what the grammar knows of each row
    for step in range(max_len):
        logp = _logp(model, cache, token, grammar, states)
        token = logp.argmax(-1, keepdims=True)
        states = _advance(grammar, states, token[:, 0].tolist())
        out[live, step] = token[:, 0]
        logp_sum[live] += np.take_along_axis(logp, token, -1)[:, 0]
        length[live] += 1
        going = token[:, 0] != Vocab.eos_id
        if not going.all():
            if not going.any():
                break
            keep = going.nonzero()[0]
            cache, live, token = cache.reorder(keep, keep), live[keep], token[keep]
            states = [states[i] for i in keep]
    return [Hypothesis(_strip(row), float(s / max(n, 1.0)), Vocab.eos_id in row)
            for row, s, n in zip(out.tolist(), logp_sum, length)]


def repeated_span(ids: list[int], unit: int = LOOP_UNIT) -> int:
    """Tokens in the longest stretch of `ids` made of one unit of at most `unit` tokens
    repeated back to back (`a b a b a` is 5; 0 where nothing repeats)."""
    longest = 0
    for p in range(1, min(unit, len(ids) - 1) + 1):
        same = [a == b for a, b in zip(ids[p:], ids)]  # token i + p repeats token i
        run = max((sum(1 for _ in g) for repeats, g in groupby(same) if repeats), default=0)
        longest = max(longest, run + p if run else 0)
    return longest


def caught_in_loop(hypothesis: Hypothesis) -> bool:
    """Cut off at the length cap, or repeating one unit over LOOP_SPAN tokens or more."""
    return not hypothesis.ended or repeated_span(hypothesis.ids) >= LOOP_SPAN


def rank(hypothesis: Hypothesis) -> tuple[bool, float]:
    """Sort key of readings of one image (by several views of it): any not caught in a loop
    above any caught in one, then by score."""
    return not caught_in_loop(hypothesis), hypothesis.score


def reread_loops(model: StepModel, images: np.ndarray, found: list[Hypothesis], beam: int,
                 max_len: int | None = None, grammar: Grammar | None = None) -> list[Hypothesis]:
    """`found`, readings of `images`, with those caught in a loop read again by beam search of
    width `beam`: the best-scored of its readings not caught in one replaces it (if none, it
    stays: a beam's loop scores higher without being any less wrong).

    A greedy decoder that starts repeating itself rarely stops, and its reading is long and
    wrong; beam search keeps other continuations alive. Only those few images pay for a beam.
    """
    looped = [i for i, h in enumerate(found) if caught_in_loop(h)]
    found = list(found)
    if looped and beam > 1:
        for i, hyps in zip(looped, beam_search(model, images[looped], beam, max_len, grammar)):
            found[i] = next((h for h in hyps if not caught_in_loop(h)), found[i])
    return found


def _strip(ids: list[int]) -> list[int]:
    """Ids up to the first `<eos>`, specials removed."""
    if Vocab.eos_id in ids:
        ids = ids[: ids.index(Vocab.eos_id)]
    return [i for i in ids if i > Vocab.unk_id]


def beam_search(model: StepModel, images: np.ndarray, beam: int = 5, max_len: int | None = None,
                grammar: Grammar | None = None) -> list[list[Hypothesis]]:
    """`beam` best hypotheses per image, best first, ranked by mean token log-probability;
    with `grammar`, only among the sequences it allows.

    All images' beams run as one batch of B*beam rows. A hypothesis that emits `<eos>` joins
    its image's finished list (the `beam` best are kept). An image is done once its list is
    full and no live beam's mean log-probability so far beats the worst one in it; its rows
    then leave the batch and the cache.
    """
    max_len = min(max_len or model.cfg.max_tokens, model.cfg.max_tokens) - 1
    b, k = images.shape[0], beam
    cache = model.start(images).reorder(np.arange(b).repeat(k))  # k rows an image, one image cache
    token = np.full((b * k, 1), Vocab.bos_id, dtype=np.int64)
    seqs: list[list[int]] = [[] for _ in range(b * k)]
    states = [State()] * (b * k)
    scores = np.full((b, k), -np.inf, dtype=np.float32)
    scores[:, 0] = 0.0  # all beams start identical: keep one alive
    finished: list[list[Hypothesis]] = [[] for _ in range(b)]
    live = list(range(b))  # the image of each group of k rows still decoding
    for step in range(max_len):
        logp = _logp(model, cache, token, grammar, states)  # (L*K, V)
        vocab = logp.shape[-1]
        total = (scores.reshape(-1, 1) + logp).reshape(len(live), k * vocab)
        flat = _top(total, 2 * k)  # twice k: up to k may end here
        top_l, origin_l, tok_l = np.take_along_axis(total, flat, 1).tolist(), (flat // vocab).tolist(), (flat % vocab).tolist()
        beams: list[tuple[float, int, int]] = []  # (score, row it extends, token) of the beams that go on
        going = []  # positions in `live` of the images that go on
        for i, image in enumerate(live):
            extend = []
            for s, origin, tok in zip(top_l[i], origin_l[i], tok_l[i]):
                if s == float("-inf") or len(extend) == k:
                    break
                if tok == Vocab.eos_id:
                    _keep_best(finished[image], Hypothesis(_strip(seqs[i * k + origin]), s / (step + 1)), k)
                else:
                    extend.append((s, i * k + origin, tok))
            extend += [(float("-inf"), i * k, Vocab.pad_id)] * (k - len(extend))
            if len(finished[image]) < k or extend[0][0] / (step + 1) > min(h.score for h in finished[image]):
                going.append(i)
                beams += extend
        left = np.array(going) if len(going) < len(live) else None  # the images that go on (None: all)
        live = [live[i] for i in going]
        if not live:
            break
        new_scores, rows, tokens = zip(*beams)
        cache = cache.reorder(np.array(rows), left)
        seqs = [seqs[row] + [tok] for row, tok in zip(rows, tokens)]
        states = _advance(grammar, [states[row] for row in rows], list(tokens))
        token = np.array(tokens, dtype=np.int64).reshape(-1, 1)
        scores = np.array(new_scores, dtype=np.float32).reshape(-1, k)
    for i, image in enumerate(live):  # cut off at max_len: the live beams compete as they are
        for j in range(k):
            if scores[i, j] > -np.inf:
                length = max(len(seqs[i * k + j]), 1)
                _keep_best(finished[image], Hypothesis(_strip(seqs[i * k + j]), float(scores[i, j]) / length, False), k)
    return [sorted(f, key=lambda h: h.score, reverse=True) for f in finished]


def _top(values: np.ndarray, n: int) -> np.ndarray:
    """Column indices of each row's `n` largest values, largest first."""
    part = np.argpartition(-values, n - 1, axis=1)[:, :n]
    order = np.argsort(-np.take_along_axis(values, part, 1), axis=1, kind="stable")
    return np.take_along_axis(part, order, 1)


def _keep_best(hyps: list[Hypothesis], new: Hypothesis, k: int) -> None:
    """Add `new` to at most `k` hypotheses, dropping the worst when full."""
    if len(hyps) < k:
        hyps.append(new)
    else:
        worst = min(range(k), key=lambda i: hyps[i].score)
        if new.score > hyps[worst].score:
            hyps[worst] = new
