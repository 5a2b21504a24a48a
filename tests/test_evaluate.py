import hashlib
import json
from types import SimpleNamespace

import pytest

from img2latex.evaluate import to_markdown, weights_identity, write_report

RESULT = {"data": "d", "count": 1, "beam": 5, "style": "im2latex", "bleu": 1.0, "edit_distance": 0.0,
          "exact_match": 1.0, "token_accuracy": 1.0, "nested": 1.0, "images_per_second": 1.0}


@pytest.mark.parametrize("out, stem", [("r/eval", "r/eval"), ("r/scale-0.6-beam10", "r/scale-0.6-beam10"),
                                       ("r/eval.json", "r/eval"), ("r/eval.md", "r/eval")])
def test_reports_go_beside_the_prefix_whatever_dots_it_holds(tmp_path, out, stem):
    json_path, md_path = write_report(RESULT, tmp_path / out)
    assert (json_path, md_path) == (tmp_path / f"{stem}.json", tmp_path / f"{stem}.md")
    assert json.loads(json_path.read_text())["bleu"] == 1.0 and "BLEU-4" in md_path.read_text()


def test_the_markdown_says_how_it_was_read():
    assert "beam 5, im2latex style)" in to_markdown(RESULT)
    assert "no grammar, reranked by rendering)" in to_markdown({**RESULT, "grammar": False, "rerank": True})
    assert "beam 5, read enlarged 1.1x, im2latex style)" in to_markdown({**RESULT, "read_scales": [1.1]})
    assert "beam 5, read at 1x, 1.1x and 1.2x, averaged, im2latex style)" in to_markdown(
        {**RESULT, "read_scales": [1.0, 1.1, 1.2]})
    assert "beam 1, im2latex style, loops read again by beam 5)" in to_markdown({**RESULT, "beam": 1, "loop_beam": 5})
    assert "loops" not in to_markdown({**RESULT, "loop_beam": 5}) + to_markdown({**RESULT, "beam": 1, "loop_beam": 1})


def test_the_weights_identity_is_the_tensors_hash_or_none_where_only_graphs_are(tmp_path):
    ocr = SimpleNamespace(weights=tmp_path, backend="onnx")
    assert weights_identity(ocr) == {"weights": str(tmp_path), "backend": "onnx", "weights_sha256": None}
    (tmp_path / "model.safetensors").write_bytes(b"tensors")
    assert weights_identity(ocr)["weights_sha256"] == hashlib.sha256(b"tensors").hexdigest()
