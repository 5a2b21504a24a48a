"""The CLI on real val images with the shipped weights, and on bad input."""

import hashlib
import json
import shutil

import pytest

from conftest import LOOPED_VAL_IMAGE, VAL, needs_val
from img2latex.cli import main
from img2latex.config import PACKAGED
from img2latex.data import read_labels

pytestmark = needs_val


def test_predict_jsonl_keeps_order_and_reports_bad_files(tmp_path, capsys):
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    images = [str(VAL / "images" / "0.png"), str(tmp_path / "missing.png"), str(not_image), str(empty),
              str(VAL / "images" / "1.png")]
    assert main(["predict", *images, "--format", "jsonl"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["image"] for line in lines] == images
    assert [("error" in line) for line in lines] == [False, True, True, True, False]
    assert lines[0]["latex"] and lines[0]["score"] <= 0
    assert "no such file" in lines[1]["error"] and "not an image" in lines[2]["error"] and "empty" in lines[3]["error"]


def test_predict_text_prints_latex_and_clear_errors(tmp_path, capsys):
    assert main(["predict", str(VAL / "images" / "2.png")]) == 0
    out = capsys.readouterr().out.strip()
    assert out and "\n" not in out
    assert main(["predict", str(tmp_path / "nope.png"), str(VAL / "images" / "2.png")]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == f"img2latex: {tmp_path / 'nope.png'}: no such file"
    assert captured.out.startswith(str(VAL / "images" / "2.png") + "\t")


def test_predict_a_folder_in_batch(tmp_path, capsys):
    for i in range(3):
        shutil.copy(VAL / "images" / f"{i}.png", tmp_path / f"{i}.png")
    assert main(["predict", str(tmp_path), "--beam", "2", "--workers", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_evaluate_writes_reports(tmp_path, capsys):
    out = tmp_path / "eval"
    preds = tmp_path / "p.jsonl"
    assert main(["evaluate", "--data", str(VAL), "--limit", "8", "--out", str(out), "--save-predictions", str(preds)]) == 0
    result = json.loads(out.with_suffix(".json").read_text())
    assert result["count"] == 8 and 0 <= result["bleu"] <= 1 and result["images_per_second"] > 0
    assert result["style"] == "im2latex" and "BLEU-4" in out.with_suffix(".md").read_text()
    assert len(preds.read_text().splitlines()) == 8
    assert "8/8" in capsys.readouterr().err  # the progress bar, on stderr


@pytest.mark.parametrize("flags, grammar", [([], True), (["--no-grammar"], False)])
def test_evaluate_records_the_weights_the_grammar_and_how_many_outputs_nest(tmp_path, flags, grammar):
    # Matrices the shipped model, left to itself, has closed with the wrong environment.
    names = ["13.png", "64.png", "151.png"]
    labels = dict(read_labels(VAL))
    (tmp_path / "images").mkdir()
    for name in names:
        shutil.copy(VAL / "images" / name, tmp_path / "images" / name)
    (tmp_path / "labels.tsv").write_text("".join(f"{n}\t{labels[n]}\n" for n in names))
    assert main(["evaluate", "--data", str(tmp_path), "--out", str(tmp_path / "eval"), *flags]) == 0
    result = json.loads((tmp_path / "eval.json").read_text())
    assert result["grammar"] is grammar and "nested outputs" in (tmp_path / "eval.md").read_text()
    shipped = hashlib.sha256((PACKAGED / "model.safetensors").read_bytes()).hexdigest()
    assert (result["weights"], result["weights_sha256"]) == (str(PACKAGED), shipped)
    if grammar:
        assert result["nested"] == 1.0


def test_no_split_reads_images_whole_and_evaluate_records_it(tmp_path, capsys):
    image = VAL / "images" / "2155.png"  # two formulas `\\qquad \\qquad` apart
    (tmp_path / "images").mkdir()
    shutil.copy(image, tmp_path / "images" / image.name)
    (tmp_path / "labels.tsv").write_text(f"{image.name}\tx\n")
    for flags, split in (([], True), (["--no-split"], False)):
        assert main(["evaluate", "--data", str(tmp_path), "--out", str(tmp_path / "eval"), *flags]) == 0
        assert json.loads((tmp_path / "eval.json").read_text())["split"] is split
    assert "read whole" in (tmp_path / "eval.md").read_text()
    assert main(["predict", str(image), "--no-split", "--format", "jsonl"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["latex"]


def test_loop_beam_reaches_the_reader_and_evaluate_records_it(tmp_path):
    image = VAL / "images" / LOOPED_VAL_IMAGE
    (tmp_path / "images").mkdir()
    shutil.copy(image, tmp_path / "images" / image.name)
    labels = dict(read_labels(VAL))
    (tmp_path / "labels.tsv").write_text(f"{image.name}\t{labels[image.name]}\n")
    bleu = {}
    for flags, loop_beam in (([], 5), (["--loop-beam", "1"], 1)):
        assert main(["evaluate", "--data", str(tmp_path), "--out", str(tmp_path / "eval"), *flags]) == 0
        result = json.loads((tmp_path / "eval.json").read_text())
        assert result["loop_beam"] == loop_beam
        bleu[loop_beam] = result["bleu"]
    assert bleu[5] > bleu[1]


def test_api_raises_value_error_on_bad_input(tmp_path):
    from img2latex import LatexOCR

    ocr = LatexOCR()
    with pytest.raises(ValueError, match="no such file"):
        ocr(tmp_path / "missing.png")
    assert isinstance(ocr(VAL / "images" / "0.png"), str)


@pytest.mark.parametrize("scales", ["0,1.1", "1.1,x", ""])
def test_bad_read_scales_are_a_usage_error_not_a_traceback(scales, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["predict", str(VAL / "images" / "0.png"), "--read-scales", scales])
    assert stop.value.code == 2 and "--read-scales" in capsys.readouterr().err


def test_read_scales_flag_reads_at_each_and_records_them(tmp_path, capsys):
    image = str(VAL / "images" / "21.png")
    assert main(["predict", image, "--read-scales", "1,1.1,1.2", "--format", "jsonl"]) == 0
    assert json.loads(capsys.readouterr().out)["latex"]
    (tmp_path / "images").mkdir()
    shutil.copy(image, tmp_path / "images" / "21.png")
    (tmp_path / "labels.tsv").write_text("21.png\tx\n")
    assert main(["evaluate", "--data", str(tmp_path), "--out", str(tmp_path / "eval"), "--read-scales", "1.2,1"]) == 0
    assert json.loads((tmp_path / "eval.json").read_text())["read_scales"] == [1.0, 1.2]


def test_autoscale_reads_a_zoomed_image_as_it_is_and_resized(tmp_path):
    from img2latex import LatexOCR
    from img2latex.image import AUTOSCALE_TRIES, load_gray, rescale

    ocr = LatexOCR()
    native = load_gray(VAL / "images" / "21.png")
    assert len(ocr.load(native)) == 1  # at the training scale: read as it is
    zoomed = rescale(native, 2.5)
    assert len(ocr.load(zoomed)) == 1 + len(AUTOSCALE_TRIES) and len(LatexOCR(autoscale=False).load(zoomed)) == 1
    prediction = ocr.predict(zoomed)
    assert prediction.latex and prediction.score <= 0


def test_the_shipped_weights_read_images_enlarged_by_their_read_scales():
    from img2latex import LatexOCR
    from img2latex.image import load_gray

    ocr = LatexOCR()
    read_scales = ocr.config.data.read_scales
    assert len(read_scales) > 1 and max(read_scales) > 1  # bench/read_scale.py: read enlarged, at several sizes
    native = load_gray(VAL / "images" / "21.png")
    (view,) = ocr.load(native)
    (plain,) = LatexOCR(read_scales=[1.0]).load(native)
    margins = 8  # 4 blank pixels each side, not enlarged
    widths = [int(channel.any(axis=0).nonzero()[0][-1]) + 1 + margins // 2 for channel in view]  # without padding
    assert len(view) == len(read_scales)
    assert widths == pytest.approx([s * (plain.shape[2] - margins) + margins for s in sorted(read_scales)], abs=1)


def test_style_flag_respells_the_output(capsys):
    from img2latex.style import restyle

    calligraphic = [2578, 5981, 5502, 2459, 1409, 3171, 3770, 6002]  # labels with a { \cal X }
    images = [str(VAL / "images" / f"{k}.png") for k in [*range(20), *calligraphic]]
    assert main(["predict", *images, "--format", "jsonl"]) == 0
    im2latex = [json.loads(line)["latex"] for line in capsys.readouterr().out.splitlines()]
    assert main(["predict", *images, "--format", "jsonl", "--style", "modern"]) == 0
    modern = [json.loads(line)["latex"] for line in capsys.readouterr().out.splitlines()]
    assert im2latex == [restyle(line, "im2latex") for line in modern]
    assert any(r"\cal " in line for line in im2latex) and any(r"\mathcal " in line for line in modern)
    assert not any(r"\mathcal" in line for line in im2latex) and not any(r"\cal " in line for line in modern)
