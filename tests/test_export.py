"""ONNX export and the onnxruntime backend give the same readings as PyTorch."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

from img2latex import LatexOCR
from img2latex.cli import main
from img2latex.config import Config
from img2latex.decoding import beam_search, greedy
from img2latex.export import export_onnx
from img2latex.models import Img2Latex, with_layers
from img2latex.onnx_model import OnnxModel
from img2latex.tokenizer import Vocab
from img2latex.torch_model import TorchModel
from img2latex.weights import load_weights, save_weights

pytest.importorskip("onnx", reason="ONNX export needs the `export` extra")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A tiny random model saved as a weights directory, and its ONNX export beside it."""
    from img2latex.config import ModelConfig

    vocab = Vocab.build(["a + b = c", r"\frac { x } { y } ^ { 2 }"])
    cfg = Config(model=ModelConfig(vocab_size=len(vocab), channels=[8, 8, 16, 16], blocks=[1, 1, 1, 1], d_model=32,
                                   heads=2, encoder_layers=1, decoder_layers=2, dropout=0.0, max_tokens=24))
    torch.manual_seed(3)
    directory = tmp_path_factory.mktemp("weights")
    save_weights(Img2Latex(cfg.model), cfg, vocab, directory)
    written = export_onnx(directory, directory, quantize=True)
    assert sorted(p.name for p in written) == ["decoder.int8.onnx", "decoder.onnx", "encoder.int8.onnx", "encoder.onnx"]
    return directory


def noise() -> np.ndarray:
    """A fixed grey-level image with ink everywhere."""
    return (torch.rand(32, 96, generator=torch.Generator().manual_seed(0)) * 255).numpy()


def test_onnx_decoding_matches_pytorch(weights):
    model = TorchModel(load_weights(weights)[0])
    onnx = OnnxModel(weights)
    torch.manual_seed(0)
    images = torch.rand(3, 1, 40, 96).numpy()  # another size than the export's example: the axes are dynamic
    expected, got = greedy(model, images), greedy(onnx, images)
    assert [h.ids for h in got] == [h.ids for h in expected]
    assert [h.score for h in got] == pytest.approx([h.score for h in expected], abs=1e-4)
    beams = beam_search(onnx, images[:2], beam=3)
    assert [[h.ids for h in hs] for hs in beams] == [[h.ids for h in hs] for hs in beam_search(model, images[:2], beam=3)]


def test_graphs_keep_every_weight_as_float16(weights):
    """Every weight is read from the float16 safetensors, so the graphs store them all as float16
    (the package's size): the encoder's batch norms are left for onnxruntime to fuse into the
    convolutions, which would otherwise hold float32 weights. The decoding tests here show the
    graphs still read as PyTorch does."""
    import onnx
    from onnx import TensorProto, numpy_helper

    for name in ("encoder", "decoder"):
        inits = onnx.load(str(weights / f"{name}.onnx")).graph.initializer
        assert any(i.data_type == TensorProto.FLOAT16 for i in inits)
        assert [i.name for i in inits if i.data_type == TensorProto.FLOAT and numpy_helper.to_array(i).size >= 64] == []


def test_onnx_step_logits_match_pytorch(weights):
    model = TorchModel(load_weights(weights)[0])
    onnx = OnnxModel(weights)
    images, tokens = torch.rand(2, 1, 32, 64).numpy(), np.array([[1], [5]])
    torch_cache, onnx_cache = model.start(images), onnx.start(images)
    for _ in range(3):  # the first step has an empty self-attention cache, the later ones not
        assert np.allclose(onnx.step(onnx_cache, tokens), model.step(torch_cache, tokens), atol=1e-4)


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_batches_read_at_once_read_as_images_alone(weights, backend):
    """`workers` reads batches on threads of their own: each image reads as it does alone, in
    input order. Two images of each size make batches (of 2) with no padding to tell apart."""
    rng = np.random.default_rng(4)
    images = [(rng.random((24 + 8 * (i % 3), 40 + 24 * (i % 3))) * 255).astype(np.uint8) for i in range(6)]
    read = {w: LatexOCR(weights, backend=backend, batch_size=2, workers=w, autoscale=False) for w in (1, 3)}
    alone = [read[1].predict(image, beam=2) for image in images]
    assert len({p.latex for p in alone}) > 1
    for ocr in read.values():
        together = ocr.predict_batch(images, beam=2)
        assert [p.latex for p in together] == [p.latex for p in alone]
        assert [p.score for p in together] == pytest.approx([p.score for p in alone], abs=1e-4)
    with pytest.raises(ValueError, match="workers"):
        LatexOCR(weights, workers=0)
    with pytest.raises(ValueError, match="loop_beam"):
        LatexOCR(weights, loop_beam=0)


def test_int8_graphs_run(weights):
    ocr = LatexOCR(weights, backend="onnx-int8", autoscale=False)
    assert ocr.backend == "onnx-int8" and isinstance(ocr.predict(noise()).latex, str)


def test_auto_backend_picks_onnx_only_where_the_graphs_are(weights, tmp_path):
    assert LatexOCR(weights).backend == "onnx"
    model, cfg, vocab = load_weights(weights)
    save_weights(model, cfg, vocab, tmp_path / "plain")
    assert LatexOCR(tmp_path / "plain").backend == "torch"
    with pytest.raises(FileNotFoundError, match="img2latex export"):
        LatexOCR(tmp_path / "plain", backend="onnx")
    with pytest.raises(ValueError, match="backend"):
        LatexOCR(weights, backend="tensorrt")


def test_cli_export_writes_a_complete_weights_directory(weights, tmp_path, capsys):
    out = tmp_path / "onnx"
    assert main(["export", "--weights", str(weights), "--onnx", str(out)]) == 0
    assert "encoder.onnx" in capsys.readouterr().out
    assert {p.name for p in out.iterdir()} == {"encoder.onnx", "decoder.onnx", "config.yaml", "vocab.json"}
    image = noise()
    assert LatexOCR(out).predict(image).latex == LatexOCR(weights, backend="torch").predict(image).latex


def test_export_into_a_weights_directory_exports_its_own_weights_never_others(weights, tmp_path):
    other = tmp_path / "other"
    vocab, cfg = Vocab.load(weights / "vocab.json"), load_weights(weights)[1]
    torch.manual_seed(4)
    save_weights(Img2Latex(cfg.model), cfg, vocab, other)
    with pytest.raises(ValueError, match="other weights"):  # graphs of `weights` beside `other`'s
        export_onnx(weights, other)
    assert main(["export", "--weights", str(weights), "--onnx", str(other)]) == 2
    assert main(["export", "--onnx", str(other)]) == 0  # no --weights: the directory's own
    image = noise()
    assert LatexOCR(other).predict(image).score == pytest.approx(
        LatexOCR(other, backend="torch").predict(image).score, abs=1e-3)


def test_onnx_backend_reads_without_importing_torch(weights):
    """Importing torch is most of a cold start on a CPU; the ONNX path must not need it."""
    code = (f"import sys, numpy as np; from img2latex import LatexOCR; "
            f"LatexOCR({str(weights)!r}, backend='onnx').predict(np.full((32, 96), 255, np.uint8) - np.eye(32, 96, dtype=np.uint8) * 200); "
            f"assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_cli_export_average_saves_the_mean_of_the_weights(weights, tmp_path):
    """`export --average A B` writes the element-wise mean (stored as fp16) and its graphs."""
    _, cfg, vocab = load_weights(weights)
    torch.manual_seed(5)
    save_weights(Img2Latex(cfg.model), cfg, vocab, tmp_path / "b")
    out = tmp_path / "mean"
    assert main(["export", "--average", str(weights), str(tmp_path / "b"), "--onnx", str(out)]) == 0
    a, b, mean = (load_weights(d)[0].state_dict() for d in (weights, tmp_path / "b", out))
    floats = [k for k in a if a[k].is_floating_point()]
    assert not torch.equal(a[floats[0]], b[floats[0]])
    for k in a:
        expected = (a[k] + b[k]) / 2 if k in floats else a[k]  # integer buffers: the first's
        assert torch.allclose(mean[k], expected, atol=1e-3), k
    assert (out / "encoder.onnx").is_file()


def test_export_average_grows_the_model_a_run_grew_from(weights, tmp_path):
    """Averaged with a run that grew it by a layer and a block, the shipped-style model reads as
    that run with its new parts' outputs halved: inner weights the run's, not half noise."""
    model, cfg, vocab = load_weights(weights)
    run = with_layers(model, encoder=1, blocks=[0, 0, 0, 1])
    with torch.no_grad():  # as if fine-tuned: every weight moved, the zeroed outputs too
        for p in run.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    save_weights(run, dataclasses.replace(cfg, model=run.cfg), vocab, tmp_path / "run")
    out = tmp_path / "mean"
    assert main(["export", "--average", str(weights), str(tmp_path / "run"), "--onnx", str(out)]) == 0
    old, new = model.state_dict(), load_weights(tmp_path / "run")[0].state_dict()
    mean, mean_cfg, _ = load_weights(out)
    assert mean_cfg.model == run.cfg
    mean = mean.state_dict()
    for key in ("decoder.layers.0.ff.0.weight", "encoder.layers.0.ff.2.weight", "encoder.cnn.3.conv1.weight"):
        assert torch.allclose(mean[key], (old[key] + new[key]) / 2, atol=1e-3), key
    for key in ("encoder.layers.1.ff.0.weight", "encoder.cnn.4.conv1.weight", "encoder.cnn.4.bn1.running_var"):
        assert torch.allclose(mean[key], new[key], atol=1e-3), key  # new parts: the run's own
    for key in ("encoder.layers.1.ff.2.weight", "encoder.layers.1.attn.out.bias", "encoder.cnn.4.bn2.weight"):
        assert torch.allclose(mean[key], new[key] / 2, atol=1e-3), key  # their outputs: halved


def test_cli_export_average_refuses_another_architecture(weights, tmp_path, capsys):
    _, cfg, vocab = load_weights(weights)
    cfg.model.d_model = 16  # narrower: neither grows into the other
    save_weights(Img2Latex(cfg.model), cfg, vocab, tmp_path / "smaller")
    assert main(["export", "--average", str(weights), str(tmp_path / "smaller"), "--onnx", str(tmp_path / "out")]) == 2
    assert "cannot average" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_export_average_keeps_a_directory_that_holds_other_files(weights, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["export", "--average", str(weights), str(weights), "--onnx", str(out)]) == 2
    assert "holds other files (notes.txt)" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
