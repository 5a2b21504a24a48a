"""The weights shipped in the package read real im2latex-100k val images.

The thresholds sit below what the shipped model scores on these images (see the README's
results table for the whole val set), so a broken preprocessing step, a wrong vocabulary or
damaged weights fail here while small numeric differences between machines do not.
"""

import pytest
from conftest import LOOPED_VAL_IMAGE, VAL, needs_val
from img2latex import LatexOCR
from img2latex.data import read_labels
from img2latex.metrics import score
from img2latex.weights import PACKAGED, load_weights

pytestmark = needs_val
FIRST = 40
# val images whose formula (from the corpus's im2markup sample) the shipped weights were trained on:
# `python bench/val_overlap.py --config configs/finetune-v12.yaml`; left out of the read test
TRAINED = {"1.png", "6.png", "11.png", "15.png", "19.png", "22.png", "23.png", "37.png", "43.png", "45.png",
           "60.png", "65.png", "67.png", "70.png"}
MIN_BLEU, MAX_EDIT_DISTANCE = 0.60, 0.32  # the shipped model: BLEU 0.757, edit distance 0.166 on these 40
EXACT = {"4.png", "9.png", "21.png", "36.png", "186.png", "204.png", "221.png",  # read exactly by greedy decoding
         "53.png", "57.png", "111.png"}  # \operatorname in im2latex-100k's italic (render.OPERATORNAMES)
MIN_EXACT = 8


def test_shipped_weights_load_and_fit_the_limits():
    model, cfg, vocab = load_weights(PACKAGED)
    assert model.num_parameters() <= 15_000_000 and len(vocab) == cfg.model.vocab_size
    size = sum(f.stat().st_size for f in PACKAGED.iterdir())
    assert size < 40 * 2**20


@pytest.mark.parametrize("read_scales", [None, [1.1]])  # the weights' own (a scale ensemble); one, faster
def test_shipped_weights_read_val_images(read_scales):
    items = [item for item in read_labels(VAL) if item[0] not in TRAINED][:FIRST]
    predictions = LatexOCR(read_scales=read_scales).predict_batch([VAL / "images" / name for name, _ in items])
    scores = score([f for _, f in items], [p.latex for p in predictions])
    assert scores.bleu >= MIN_BLEU and scores.edit_distance <= MAX_EDIT_DISTANCE


def test_shipped_onnx_graphs_read_as_the_weights_do():
    """The exported graphs (the default backend) are regenerated whenever the weights change."""
    paths = [VAL / "images" / name for name, _ in read_labels(VAL)[:12]]
    onnx, torch = LatexOCR(backend="onnx"), LatexOCR(backend="torch")
    assert [p.latex for p in onnx.predict_batch(paths)] == [p.latex for p in torch.predict_batch(paths)]


def test_shipped_weights_read_short_formulas_exactly():
    items = [item for item in read_labels(VAL) if item[0] in EXACT]
    predictions = LatexOCR().predict_batch([VAL / "images" / name for name, _ in items])
    assert sum(p.latex == f for p, (_, f) in zip(predictions, items)) >= MIN_EXACT


def test_shipped_weights_read_past_wide_gaps():
    """Formulas of two halves `\\qquad \\qquad` apart, which the model, reading them whole, has
    read to the gap and stopped (pieces.py): both halves are read."""
    names = {"2155.png", "3943.png", "5527.png", "5689.png", "6947.png"}
    items = [item for item in read_labels(VAL) if item[0] in names]
    predictions = LatexOCR().predict_batch([VAL / "images" / name for name, _ in items])
    assert all(len(p.latex.split()) >= 0.9 * len(f.split()) for p, (_, f) in zip(predictions, items))
    assert score([f for _, f in items], [p.latex for p in predictions]).bleu >= 0.8


def test_shipped_weights_read_a_loop_again_by_beam():
    """A val image whose greedy reading runs in a loop to the length cap: by default
    read again by beam search, which ends it short of 1.5 times the label's length (where
    `bench/error_analysis.py` counts a reading as running far past)."""
    (name, formula), = [item for item in read_labels(VAL) if item[0] == LOOPED_VAL_IMAGE]
    looped = LatexOCR(loop_beam=1).predict(VAL / "images" / name).latex.split()
    read = LatexOCR().predict(VAL / "images" / name).latex.split()
    assert len(looped) >= 200 and len(read) < 1.5 * len(formula.split())
    assert score([formula], [" ".join(read)]).bleu > score([formula], [" ".join(looped)]).bleu
