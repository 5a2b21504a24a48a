import json

import pytest
from PIL import Image

from img2latex.cli import main
from img2latex.plot import read_metrics


def write_log(path):
    records = [{"step": 20, "loss": 3.0}, {"step": 40, "loss": 2.0},
               {"step": 40, "val_loss": 2.5, "val_bleu": 0.1},
               {"step": 40, "val_loss": 2.4, "val_bleu": 0.2},  # a resumed run redid step 40
               {"step": 60, "loss": 1.5}, {"step": 80, "val_loss": 1.9, "val_bleu": 0.4}]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")


def test_read_metrics_splits_and_keeps_the_last_record_of_a_step(tmp_path):
    write_log(tmp_path / "m.jsonl")
    train, evals = read_metrics(tmp_path / "m.jsonl")
    assert sorted(train) == [20, 40, 60] and sorted(evals) == [40, 80] and evals[40]["val_bleu"] == 0.2


def test_plot_command_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    write_log(tmp_path / "m.jsonl")
    assert main(["plot", str(tmp_path / "m.jsonl"), "--out", str(tmp_path / "curve.png")]) == 0
    with Image.open(tmp_path / "curve.png") as image:
        assert image.format == "PNG" and image.width > 500
