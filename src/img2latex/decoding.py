"""Greedy and beam search over a batch of images, one cached decoder step at a time.

Both return, per image, token ids without specials and the mean log-probability of the
emitted tokens (`<eos>` included) as a confidence score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch

from .config import ModelConfig
from .tokenizer import Vocab


class StepModel(Protocol):
    """What decoding needs of a model: the PyTorch `Img2Latex` or the ONNX `OnnxModel`.

    `start` returns a cache with `reorder(rows)`; `step` returns float logits (B, V) and
    advances the cache by the given token.
    """

    cfg: ModelConfig

    def start(self, images: torch.Tensor) -> Any: ...

    def step(self, cache: Any, tokens: torch.Tensor) -> torch.Tensor: ...


@dataclass
class Hypothesis:
    ids: list[int]
    score: float  # mean token log-probability


@torch.inference_mode()
def greedy(model: StepModel, images: torch.Tensor, max_len: int | None = None) -> list[Hypothesis]:
    """Most likely token at each step. A row leaves the batch (and the cache) as soon as it
    emits `<eos>`, so long formulas do not make the short ones in their batch pay."""
    max_len = min(max_len or model.cfg.max_tokens, model.cfg.max_tokens) - 1
    b, device = images.shape[0], images.device
    cache = model.start(images)
    token = torch.full((b, 1), Vocab.bos_id, dtype=torch.long, device=device)
    out = torch.full((b, max_len), Vocab.pad_id, dtype=torch.long, device=device)
    logp_sum = torch.zeros(b, device=device)
    length = torch.zeros(b, device=device)
    live = torch.arange(b, device=device)  # the batch row of each row still decoding
    for step in range(max_len):
        best, token = model.step(cache, token).float().log_softmax(-1).max(-1, keepdim=True)
        out[live, step] = token[:, 0]
        logp_sum[live] += best[:, 0]
        length[live] += 1
        going = token[:, 0] != Vocab.eos_id
        if not bool(going.all()):
            if not bool(going.any()):
                break
            keep = going.nonzero()[:, 0]
            cache, live, token = cache.reorder(keep), live[keep], token[keep]
    return [Hypothesis(_strip(row), (s / max(n, 1.0)).item()) for row, s, n in zip(out.tolist(), logp_sum, length.tolist())]


def _strip(ids: list[int]) -> list[int]:
    """Ids up to the first `<eos>`, specials removed."""
    if Vocab.eos_id in ids:
        ids = ids[: ids.index(Vocab.eos_id)]
    return [i for i in ids if i > Vocab.unk_id]


@torch.inference_mode()
def beam_search(model: StepModel, images: torch.Tensor, beam: int = 5, max_len: int | None = None) -> list[list[Hypothesis]]:
    """`beam` best hypotheses per image, best first, ranked by mean token log-probability.

    All images' beams run as one batch of B*beam rows. A hypothesis that emits `<eos>` joins
    its image's finished list (the `beam` best are kept). An image is done once its list is
    full and no live beam's mean log-probability so far beats the worst one in it; its rows
    then leave the batch and the cache.
    """
    max_len = min(max_len or model.cfg.max_tokens, model.cfg.max_tokens) - 1
    b, k, device = images.shape[0], beam, images.device
    cache = model.start(images).reorder(torch.arange(b, device=device).repeat_interleave(k))
    token = torch.full((b * k, 1), Vocab.bos_id, dtype=torch.long, device=device)
    seqs = torch.zeros(b * k, 0, dtype=torch.long, device=device)
    scores = torch.full((b, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: keep one alive
    finished: list[list[Hypothesis]] = [[] for _ in range(b)]
    live = list(range(b))  # the image of each group of k rows still decoding
    for step in range(max_len):
        logp = model.step(cache, token).float().log_softmax(-1)  # (L*K, V)
        vocab = logp.shape[-1]
        total = (scores.view(-1, 1) + logp).view(len(live), k * vocab)
        top, flat = total.topk(2 * k, dim=1)  # twice k: up to k may end here
        top_l, origin_l, tok_l = top.tolist(), (flat // vocab).tolist(), (flat % vocab).tolist()
        new_scores = torch.full((len(live), k), float("-inf"), device=device)
        pick = torch.zeros(len(live), k, dtype=torch.long, device=device)
        pick_tok = torch.full((len(live), k), Vocab.pad_id, dtype=torch.long, device=device)
        going = []  # positions in `live` of the images that go on
        for i, image in enumerate(live):
            slot = 0
            for j in range(2 * k):
                s, row, tok = top_l[i][j], i * k + origin_l[i][j], tok_l[i][j]
                if s == float("-inf") or slot == k:
                    break
                if tok == Vocab.eos_id:
                    _keep_best(finished[image], Hypothesis(_strip(seqs[row].tolist()), s / (step + 1)), k)
                    continue
                new_scores[i, slot], pick[i, slot], pick_tok[i, slot] = s, row, tok
                slot += 1
            best_alive = new_scores[i].max().item() / (step + 1)
            if len(finished[image]) < k or best_alive > min(h.score for h in finished[image]):
                going.append(i)
        keep = torch.tensor(going, dtype=torch.long, device=device)
        live = [live[i] for i in going]
        if not live:
            break
        rows = pick[keep].view(-1)
        cache = cache.reorder(rows)
        seqs = torch.cat([seqs.index_select(0, rows), pick_tok[keep].view(-1, 1)], dim=1)
        token, scores = pick_tok[keep].view(-1, 1), new_scores[keep]
    for i, image in enumerate(live):  # cut off at max_len: the live beams compete as they are
        for j in range(k):
            if scores[i, j] > float("-inf"):
                length = max(seqs.shape[1], 1)
                _keep_best(finished[image], Hypothesis(_strip(seqs[i * k + j].tolist()), scores[i, j].item() / length), k)
    return [sorted(f, key=lambda h: h.score, reverse=True) for f in finished]


def _keep_best(hyps: list[Hypothesis], new: Hypothesis, k: int) -> None:
    """Add `new` to at most `k` hypotheses, dropping the worst when full."""
    if len(hyps) < k:
        hyps.append(new)
    else:
        worst = min(range(k), key=lambda i: hyps[i].score)
        if new.score > hyps[worst].score:
            hyps[worst] = new
