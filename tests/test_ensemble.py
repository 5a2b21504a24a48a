import numpy as np
import pytest
import torch

from img2latex.decoding import beam_search, greedy, log_softmax
from img2latex.ensemble import ScaleEnsemble, trim
from img2latex.models import Img2Latex
from img2latex.torch_model import TorchModel


@pytest.fixture
def model(tiny_model_config):
    torch.manual_seed(2)
    return TorchModel(Img2Latex(tiny_model_config).eval())


def test_one_image_in_every_channel_reads_as_the_model_alone(model):
    images = np.random.default_rng(0).random((3, 1, 32, 64), dtype=np.float32)
    twice = ScaleEnsemble(model)
    alone, both = greedy(model, images, max_len=12), greedy(twice, np.repeat(images, 2, axis=1), max_len=12)
    assert [h.ids for h in both] == [h.ids for h in alone]
    assert [h.score for h in both] == pytest.approx([h.score for h in alone], abs=1e-4)
    beams = beam_search(twice, np.repeat(images, 2, axis=1), beam=3, max_len=12)
    assert [b[0].ids for b in beams] == [b[0].ids for b in beam_search(model, images, beam=3, max_len=12)]


def test_each_step_is_the_mean_of_the_channels_log_probabilities(model):
    rng = np.random.default_rng(1)
    small, large = rng.random((2, 1, 24, 40), dtype=np.float32), rng.random((2, 1, 32, 64), dtype=np.float32)
    small[..., -4:, :] = small[..., -4:] = 0  # blank paper round the ink, as image.prepare_views leaves
    stacked = np.zeros((2, 2, 32, 64), dtype=np.float32)
    stacked[:, :1, :24, :40], stacked[:, 1:] = small, large
    tokens = np.ones((2, 1), dtype=np.int64)
    expected = (log_softmax(model.step(model.start(small), tokens)) + log_softmax(model.step(model.start(large), tokens))) / 2
    ensemble = ScaleEnsemble(model)
    got = ensemble.step(ensemble.start(stacked), tokens)
    assert got == pytest.approx(expected, abs=1e-5)  # the small channel read without the large one's padding


def test_trim_keeps_every_image_and_its_margin_only():
    batch = np.zeros((2, 1, 40, 60), dtype=np.float32)
    batch[0, 0, 10, 20] = batch[1, 0, 15, 5] = 0.3
    assert trim(batch, margin=4).shape == (2, 1, 20, 25)
    assert trim(batch[:, :, :18, :22], margin=4).shape == (2, 1, 18, 22)  # never beyond the batch
    blank = np.zeros((1, 1, 8, 8), dtype=np.float32)
    assert trim(blank) is blank
