import numpy as np
import pytest
import torch

from img2latex.decoding import beam_search, greedy, log_softmax
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
