import numpy as np
import pytest
import torch

from img2latex.models import Img2Latex, with_layers
from img2latex.models.encoder import positions_2d


def test_shapes(tiny_model_config):
    model = Img2Latex(tiny_model_config).eval()
    images = torch.rand(3, 1, 40, 96)
    memory = model.encoder(images)
    assert memory.shape == (3, (40 // 8) * (96 // 8), 32)
    logits = model(images, torch.randint(0, 40, (3, 7)))
    assert logits.shape == (3, 7, 40)


def test_positions_differ_per_cell():
    pos = positions_2d(4, 5, 32, torch.device("cpu"))
    assert pos.shape == (20, 32) and torch.unique(pos, dim=0).shape[0] == 20


def test_cached_steps_match_a_full_forward(tiny_model_config):
    torch.manual_seed(0)
    model = Img2Latex(tiny_model_config).eval()
    images, tokens = torch.rand(2, 1, 32, 64), torch.randint(0, 40, (2, 9))
    with torch.no_grad():
        full = model(images, tokens)
        cache = model.decoder.start(model.encoder(images))
        steps = torch.cat([model.decoder(tokens[:, t : t + 1], cache=cache) for t in range(9)], dim=1)
    assert torch.allclose(full, steps, atol=1e-5)


def test_cache_reorder_follows_rows(tiny_model_config):
    model = Img2Latex(tiny_model_config).eval()
    with torch.no_grad():
        cache = model.decoder.start(model.encoder(torch.rand(3, 1, 32, 64)))
        model.decoder(torch.randint(0, 40, (3, 2)), cache=cache)
        picked = cache.reorder(torch.tensor([2, 2, 0]), torch.tensor([2, 2, 0]))
    assert torch.equal(picked.self_kv[0][0][0], cache.self_kv[0][0][2])
    assert torch.equal(picked.cross[1][1][2], cache.cross[1][1][0])
    within_images = cache.reorder(np.array([0, 0, 2]))  # the same images: their keys/values stay
    assert within_images.cross is cache.cross and torch.equal(within_images.self_kv[1][1][1], cache.self_kv[1][1][0])


def test_beams_share_their_image_keys_and_values(tiny_model_config):
    """Rows i*3 .. i*3+2 reading image i's one copy of the keys/values read as with a copy each."""
    model = Img2Latex(tiny_model_config).eval()
    tokens = torch.randint(0, 40, (6, 3))
    with torch.no_grad():
        shared = model.decoder.start(model.encoder(torch.rand(2, 1, 32, 64)))
        copied = shared.reorder(np.arange(6), images=np.array([0, 0, 0, 1, 1, 1]))
        assert shared.cross[0][0].shape[0] == 2 and copied.cross[0][0].shape[0] == 6
        assert torch.allclose(model.decoder(tokens, cache=shared), model.decoder(tokens, cache=copied), atol=1e-5)


def test_a_grown_model_predicts_as_before_and_its_new_layers_learn(tiny_model_config):
    torch.manual_seed(0)
    model = Img2Latex(tiny_model_config).eval()
    grown = with_layers(model, encoder=2, decoder=1)
    assert (grown.cfg.encoder_layers, grown.cfg.decoder_layers) == (2, tiny_model_config.decoder_layers + 1)
    assert model.cfg.encoder_layers == 0 and not grown.training
    images, tokens = torch.rand(2, 1, 32, 64), torch.randint(0, 40, (2, 9))
    with torch.no_grad():
        assert torch.allclose(grown(images, tokens), model(images, tokens), atol=1e-6)
    grown(images, tokens).logsumexp(-1).mean().backward()
    assert grown.encoder.layers[1].ff[2].weight.grad.abs().sum() > 0
    assert grown.decoder.layers[-1].ff[2].weight.grad.abs().sum() > 0
    again = with_layers(grown, encoder=1)  # grows past layers that were grown before
    assert torch.equal(again.encoder.layers[1].ff[0].weight, grown.encoder.layers[1].ff[0].weight)
    assert torch.equal(again.decoder.layers[-1].ff[0].weight, grown.decoder.layers[-1].ff[0].weight)


def test_a_cnn_grown_by_blocks_reads_as_before_and_keeps_its_blocks_in_order(tiny_model_config):
    torch.manual_seed(0)
    model = Img2Latex(tiny_model_config).eval()
    with torch.no_grad():  # batch norms that are not the identity, so that a misplaced block shows
        for module in model.encoder.cnn.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.weight.uniform_(0.5, 1.5)
    added = [0, 1, 0, 2][: len(tiny_model_config.blocks)]
    grown = with_layers(model, blocks=added)
    assert grown.cfg.blocks == [n + k for n, k in zip(tiny_model_config.blocks, added)]
    images, tokens = torch.rand(2, 1, 32, 64), torch.randint(0, 40, (2, 9))
    with torch.no_grad():
        assert torch.allclose(grown(images, tokens), model(images, tokens), atol=1e-5)
    assert sum(p.numel() for p in grown.parameters()) > sum(p.numel() for p in model.parameters())
    grown.train()
    grown(images, tokens).logsumexp(-1).mean().backward()
    new = grown.encoder.cnn[tiny_model_config.blocks[0] + tiny_model_config.blocks[1]]
    assert new.bn2.weight.grad.abs().sum() > 0  # the zero scale learns, and the block with it
    with pytest.raises(ValueError, match="stage"):
        with_layers(model, blocks=[1])
