"""Render real formulas, train a tiny model a few steps, save, load through the API, decode."""

import json

from conftest import VAL, needs_latex, needs_val
from img2latex import LatexOCR
from img2latex.cli import main
from img2latex.config import AugmentConfig, Config, DataConfig, ModelConfig, TrainConfig
from img2latex.render import render_dataset
from img2latex.train import train
from img2latex.weights import load_weights

FORMULAS = [r"x^2+y^2=z^2", r"\frac{a}{b}", r"\alpha_i\beta_j", r"e^{i\pi}+1=0", r"\sqrt{x}", r"\sum_{n=1}^N n"]


@needs_latex
@needs_val
def test_render_train_save_load_decode(tmp_path):
    data = tmp_path / "data"
    assert render_dataset(FORMULAS, data, progress=False, workers=1) == (len(FORMULAS), 0)
    cfg = Config(
        model=ModelConfig(channels=[8, 16, 16, 32], blocks=[1, 1, 1, 1], d_model=32, heads=2, decoder_layers=1, max_tokens=40),
        data=DataConfig(train=[str(data)], val=str(VAL), val_subset=4, max_label_tokens=38, batch_size=3, num_workers=0,
                        augment=AugmentConfig(enabled=True)),
        train=TrainConfig(out_dir=str(tmp_path / "run"), device="cpu", max_steps=6, eval_every=3, save_every=2,
                          warmup_steps=2, threads=1),
    )
    best = train(cfg, progress_bar=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "val_bleu" in r] == [3, 6]
    model, loaded_cfg, vocab = load_weights(best)
    assert loaded_cfg.model.d_model == 32 and len(vocab) == loaded_cfg.model.vocab_size

    cfg.train.max_steps = 8  # resume continues from step 6
    train(cfg, resume=True, progress_bar=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 8

    ocr = LatexOCR(best)
    prediction = ocr.predict(data / "images" / "0.png", beam=2)
    assert isinstance(prediction.latex, str) and prediction.score <= 0.0 and len(prediction.alternatives) == 1
    assert main(["predict", str(data / "images" / "1.png"), "--weights", str(best)]) == 0
