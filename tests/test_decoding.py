import numpy as np
import pytest
import torch

from img2latex.config import ModelConfig
from img2latex.decoding import Hypothesis, beam_search, caught_in_loop, greedy, log_softmax, rank, repeated_span, reread_loops
from img2latex.models import Img2Latex
from img2latex.tokenizer import Vocab
from img2latex.torch_model import TorchModel
from img2latex.train import sequence_loss

TARGET = [1, 7, 9, 11, 13, 2]  # <bos> ... <eos>


@pytest.fixture(scope="module")
def overfit_model():
    """A model trained until one image has one obvious reading: the trivial case."""
    from img2latex.config import ModelConfig

    torch.manual_seed(0)
    cfg = ModelConfig(vocab_size=40, channels=[8, 8, 16, 16], blocks=[1, 1, 1, 1], d_model=32, heads=2,
                      decoder_layers=2, dropout=0.0, max_tokens=32)
    model = Img2Latex(cfg)
    images, tokens = torch.rand(1, 1, 32, 64), torch.tensor([TARGET])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = sequence_loss(model(images, tokens[:, :-1]), tokens)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return TorchModel(model.eval()), images.numpy()


def test_greedy_and_beam_agree_on_an_unambiguous_image(overfit_model):
    model, images = overfit_model
    g = greedy(model, images)[0]
    b = beam_search(model, images, beam=4)[0]
    assert g.ids == TARGET[1:-1] and b[0].ids == g.ids
    assert b[0].score == pytest.approx(g.score, abs=1e-4) and g.score > -0.1
    assert len(b) == 4 and all(b[i].score >= b[i + 1].score for i in range(3))


def test_beam_of_one_is_greedy(tiny_model_config):
    torch.manual_seed(1)
    model = TorchModel(Img2Latex(tiny_model_config).eval())
    images = torch.rand(3, 1, 32, 64).numpy()
    g = greedy(model, images, max_len=12)
    b = beam_search(model, images, beam=1, max_len=12)
    assert [h.ids for h in g] == [hs[0].ids for hs in b]
    assert [h.score for h in g] == pytest.approx([hs[0].score for hs in b], abs=1e-4)


def test_batched_decoding_matches_one_by_one(overfit_model):
    model, images = overfit_model
    noise = np.random.default_rng(0).random(images.shape, dtype=np.float32)
    batch = np.concatenate([noise, images, noise[:, :, ::-1]])  # the middle one ends first
    together = greedy(model, batch)
    alone = [greedy(model, batch[i : i + 1])[0] for i in range(3)]
    assert [h.ids for h in together] == [h.ids for h in alone]
    assert [h.score for h in together] == pytest.approx([h.score for h in alone], abs=1e-5)
    beams = beam_search(model, batch, beam=3)
    assert [h.ids for h in beams[1]] == [h.ids for h in beam_search(model, images, beam=3)[0]]


def test_max_length_is_respected(tiny_model_config):
    model = TorchModel(Img2Latex(tiny_model_config).eval())
    for h in greedy(model, torch.rand(2, 1, 32, 64).numpy(), max_len=5):
        assert len(h.ids) <= 4 and Vocab.eos_id not in h.ids


def test_log_softmax_matches_torch():
    logits = torch.randn(4, 50, generator=torch.Generator().manual_seed(0)) * 10
    assert np.allclose(log_softmax(logits.numpy()), logits.log_softmax(-1).numpy(), atol=1e-5)


class _Markov:
    """A scripted model whose next token depends only on the last: greedy writes 5 5 5 ... to
    the length cap (5 follows 5 at 0.6), while `6 <eos>` scores better as a whole."""

    cfg = ModelConfig(vocab_size=8, max_tokens=24)
    table = {Vocab.bos_id: {5: 0.55, 6: 0.45}, 5: {5: 0.6, Vocab.eos_id: 0.4}, 6: {Vocab.eos_id: 0.99, 7: 0.01}}

    class _Cache:
        def reorder(self, rows, images=None):
            return self

    def start(self, images):
        return self._Cache()

    def step(self, cache, tokens):
        logp = np.full((len(tokens), self.cfg.vocab_size), -30.0, dtype=np.float32)
        for row, token in enumerate(tokens[:, 0]):
            for nxt, p in self.table.get(int(token), {Vocab.eos_id: 1.0}).items():
                logp[row, nxt] = np.log(p)
        return logp


def test_repeated_span_measures_the_longest_back_to_back_repeat():
    assert repeated_span([1, 2, 1, 2, 1]) == 5
    assert repeated_span([4, 5, 6, 7]) == 0
    assert repeated_span([9, 3, 3, 3, 8]) == 3
    assert repeated_span([1, 2, 3] * 4, unit=2) == 0 and repeated_span([1, 2, 3] * 4) == 12


def test_caught_in_loop():
    assert caught_in_loop(Hypothesis([4, 5], -0.1, ended=False))  # cut off at the cap
    assert caught_in_loop(Hypothesis([4, 5, 6] * 10, -0.1))
    assert not caught_in_loop(Hypothesis([4, 5, 6] * 9 + [7], -0.1))  # 28 repeated: a long formula's own


def test_a_loop_is_read_again_by_beam():
    model, images = _Markov(), np.zeros((2, 1, 8, 8), dtype=np.float32)
    looped = greedy(model, images)
    assert looped[0].ids == [5] * 23 and not looped[0].ended
    again = reread_loops(model, images, looped, beam=3)
    assert [h.ids for h in again] == [[6], [6]] and all(h.ended for h in again)
    assert reread_loops(model, images, looped, beam=1) == looped
    assert max([Hypothesis([4] * 40, -0.01), Hypothesis([4], -5.0)], key=rank).ids == [4]  # a loop ranks last


def test_only_readings_caught_in_a_loop_are_read_again(overfit_model):
    model, images = overfit_model
    found = greedy(model, images)
    assert reread_loops(model, images, found, beam=4) == found
    assert reread_loops(model, images, [Hypothesis([1] * 40, 0.0)], beam=4)[0].ids == found[0].ids
