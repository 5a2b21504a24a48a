"""Greedy and beam search over a batch of images, one cached decoder step at a time.

Both return, per image, token ids without specials and the mean log-probability of the
emitted tokens (`<eos>` included) as a confidence score.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .models import Img2Latex
from .tokenizer import Vocab


@dataclass
class Hypothesis:
    ids: list[int]
    score: float  # mean token log-probability


@torch.inference_mode()
def greedy(model: Img2Latex, images: torch.Tensor, max_len: int | None = None) -> list[Hypothesis]:
    """Most likely token at each step; stops when every sequence has emitted `<eos>`."""
    max_len = min(max_len or model.cfg.max_tokens, model.cfg.max_tokens) - 1
    b, device = images.shape[0], images.device
    cache = model.decoder.start(model.encoder(images))
    token = torch.full((b, 1), Vocab.bos_id, dtype=torch.long, device=device)
    out = torch.zeros(b, 0, dtype=torch.long, device=device)
    logp_sum = torch.zeros(b, device=device)
    length = torch.zeros(b, device=device)
    done = torch.zeros(b, dtype=torch.bool, device=device)
    for _ in range(max_len):
        logp = model.decoder(token, cache=cache)[:, -1].float().log_softmax(-1)
        best, token = logp.max(-1, keepdim=True)
        logp_sum += torch.where(done, 0.0, best[:, 0])
        length += (~done).float()
        out = torch.cat([out, token], dim=1)
        done |= token[:, 0] == Vocab.eos_id
        if bool(done.all()):
            break
    return [Hypothesis(_strip(row), (s / max(n, 1.0)).item()) for row, s, n in zip(out.tolist(), logp_sum, length.tolist())]


def _strip(ids: list[int]) -> list[int]:
    """Ids up to the first `<eos>`, specials removed."""
    if Vocab.eos_id in ids:
        ids = ids[: ids.index(Vocab.eos_id)]
    return [i for i in ids if i > Vocab.unk_id]


@torch.inference_mode()
def beam_search(model: Img2Latex, images: torch.Tensor, beam: int = 5, max_len: int | None = None) -> list[list[Hypothesis]]:
    """`beam` best hypotheses per image, best first, ranked by mean token log-probability.

    All images' beams run as one batch of B*beam rows. A hypothesis that emits `<eos>` joins
    its image's finished list (the `beam` best are kept). An image is done once its list is
    full and no live beam's mean log-probability so far beats the worst one in it.
    """
    max_len = min(max_len or model.cfg.max_tokens, model.cfg.max_tokens) - 1
    b, k, device = images.shape[0], beam, images.device
    memory = model.encoder(images).repeat_interleave(k, dim=0)
    cache = model.decoder.start(memory)
    token = torch.full((b * k, 1), Vocab.bos_id, dtype=torch.long, device=device)
    seqs = torch.zeros(b * k, 0, dtype=torch.long, device=device)
    scores = torch.full((b, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: keep one alive
    finished: list[list[Hypothesis]] = [[] for _ in range(b)]
    done = [False] * b
    for step in range(max_len):
        logp = model.decoder(token, cache=cache)[:, -1].float().log_softmax(-1)  # (B*K, V)
        vocab = logp.shape[-1]
        total = (scores.view(-1, 1) + logp).view(b, k * vocab)
        top, flat = total.topk(2 * k, dim=1)  # twice k: up to k may end here
        top_l, origin_l, tok_l = top.tolist(), (flat // vocab).tolist(), (flat % vocab).tolist()
        new_scores = torch.full((b, k), float("-inf"), device=device)
        pick = torch.zeros(b, k, dtype=torch.long, device=device)
        pick_tok = torch.full((b, k), Vocab.pad_id, dtype=torch.long, device=device)
        for i in range(b):
            if done[i]:
                continue
            slot = 0
            for j in range(2 * k):
                s, row, tok = top_l[i][j], i * k + origin_l[i][j], tok_l[i][j]
                if s == float("-inf") or slot == k:
                    break
                if tok == Vocab.eos_id:
                    _keep_best(finished[i], Hypothesis(_strip(seqs[row].tolist()), s / (step + 1)), k)
                    continue
                new_scores[i, slot], pick[i, slot], pick_tok[i, slot] = s, row, tok
                slot += 1
            best_alive = new_scores[i].max().item() / (step + 1)
            done[i] = len(finished[i]) == k and best_alive <= min(h.score for h in finished[i])
        if all(done):
            break
        rows = pick.view(-1)
        cache = cache.reorder(rows)
        seqs = torch.cat([seqs.index_select(0, rows), pick_tok.view(-1, 1)], dim=1)
        token, scores = pick_tok.view(-1, 1), new_scores
    for i in range(b):  # cut off at max_len: the live beams compete as they are
        for j in range(k):
            if not done[i] and scores[i, j] > float("-inf"):
                _keep_best(finished[i], Hypothesis(_strip(seqs[i * k + j].tolist()), scores[i, j].item() / max(seqs.shape[1], 1)), k)
    return [sorted(f, key=lambda h: h.score, reverse=True) for f in finished]


def _keep_best(hyps: list[Hypothesis], new: Hypothesis, k: int) -> None:
    """Add `new` to at most `k` hypotheses, dropping the worst when full."""
    if len(hyps) < k:
        hyps.append(new)
    else:
        worst = min(range(k), key=lambda i: hyps[i].score)
        if new.score > hyps[worst].score:
            hyps[worst] = new
