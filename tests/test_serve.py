"""The HTTP API on the shipped model: good requests, every kind of bad one, and that it lives on."""

import base64
import io
import time

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import VAL, needs_latex, needs_val
from img2latex import LatexOCR
from img2latex.serve import MAX_UPLOAD_BYTES, create_app

pytestmark = needs_val


@pytest.fixture(scope="module")
def ocr():
    return LatexOCR()


@pytest.fixture(scope="module")
def client(ocr):
    with TestClient(create_app(ocr)) as client:  # runs the app's lifespan: its reading worker
        yield client


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def val_image(name: str = "36.png") -> bytes:
    return (VAL / "images" / name).read_bytes()


def test_multipart_upload_reads_the_formula(client, ocr):
    r = client.post("/api/predict", files={"file": ("f.png", val_image(), "image/png")})
    assert r.status_code == 200
    body = r.json()
    expected = ocr.predict(VAL / "images" / "36.png", beam=5)
    assert body["latex"] == expected.latex and body["score"] == pytest.approx(expected.score, abs=1e-4)
    assert len(body["alternatives"]) == 4 and all(set(a) == {"latex", "score"} for a in body["alternatives"])
    assert body["seconds"] >= 0


def test_json_base64_and_beam_parameter(client, ocr):
    data = base64.b64encode(val_image()).decode()
    r = client.post("/api/predict?beam=1", json={"image": "data:image/png;base64," + data})
    assert r.status_code == 200 and r.json()["alternatives"] == []
    assert r.json()["latex"] == ocr(VAL / "images" / "36.png")


@pytest.mark.parametrize("kwargs, status, words", [
    ({"files": {"file": ("a.png", b"not an image", "image/png")}}, 400, "not an image"),
    ({"files": {"file": ("a.png", b"", "image/png")}}, 400, "empty"),
    ({"files": {"other": ("a.png", b"x", "image/png")}}, 400, "field 'file'"),
    ({"json": {"image": "%%% not base64"}}, 400, "base64"),
    ({"json": {"picture": "abc"}}, 400, '{"image"'),
    ({"content": b"{broken", "headers": {"content-type": "application/json"}}, 400, "JSON"),
    ({"content": b"raw", "headers": {"content-type": "text/plain"}}, 415, "multipart"),
    ({"files": {"file": ("a.png", png(Image.new("L", (200, 60), 255)), "image/png")}}, 422, "blank"),
    ({"files": {"file": ("a.png", png(Image.new("1", (8000, 6000), 1)), "image/png")}}, 413, "too large"),
])
def test_bad_requests_get_a_clear_json_error(client, kwargs, status, words):
    r = client.post("/api/predict", **kwargs)
    assert r.status_code == status and words in r.json()["detail"]
    assert client.get("/api/health").json()["status"] == "ok"  # and the server goes on


def test_decompression_bomb_is_refused(client):
    bomb = png(Image.new("1", (20_000, 20_000), 1))  # 400 megapixels in a few tens of kilobytes
    assert len(bomb) < 100_000
    r = client.post("/api/predict", files={"file": ("bomb.png", bomb, "image/png")})
    assert r.status_code == 413 and "too large" in r.json()["detail"]


def test_oversized_upload_is_refused_before_reading_it(client):
    r = client.post("/api/predict", files={"file": ("big.png", b"\0" * (MAX_UPLOAD_BYTES + 1), "image/png")})
    assert r.status_code == 413 and "10 MB" in r.json()["detail"]


def test_beam_out_of_range_is_a_4xx(client):
    r = client.post("/api/predict?beam=50", files={"file": ("f.png", val_image(), "image/png")})
    assert r.status_code == 422


@needs_latex
def test_rerank_parameter_picks_from_the_beam(client, ocr):
    r = client.post("/api/predict?beam=3&rerank=true", files={"file": ("f.png", val_image("5.png"), "image/png")})
    assert r.status_code == 200
    expected = ocr.predict_batch([VAL / "images" / "5.png"], beam=3, rerank=True)[0]
    assert r.json()["latex"] == expected.latex and len(r.json()["alternatives"]) == 2
    r = client.post("/api/predict?beam=1&rerank=true", files={"file": ("f.png", val_image(), "image/png")})
    assert r.status_code == 400 and "beam=2 or more" in r.json()["detail"]


def test_rerank_without_tex_is_a_503(client, monkeypatch):
    monkeypatch.setenv("PATH", "")
    r = client.post("/api/predict?rerank=true", files={"file": ("f.png", val_image(), "image/png")})
    assert r.status_code == 503 and "pdflatex" in r.json()["detail"]


def test_slow_reading_ends_with_504(ocr):
    class Slow:
        backend = "slow"

        def predict_batch(self, images, beam=None, errors="raise", rerank=None):
            time.sleep(0.5)
            return ocr.predict_batch(images, beam, errors, rerank)

    with TestClient(create_app(Slow(), timeout_s=0.1)) as client:
        r = client.post("/api/predict", files={"file": ("f.png", val_image(), "image/png")})
    assert r.status_code == 504 and "longer than" in r.json()["detail"]


def test_page_docs_health_and_katex_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/katex/katex.min.js" in page.text and "cdn" not in page.text.lower()
    assert client.get("/static/katex/katex.min.js").status_code == 200
    assert client.get("/static/katex/fonts/KaTeX_Main-Regular.woff2").status_code == 200
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "multipart/form-data" in spec["paths"]["/api/predict"]["post"]["requestBody"]["content"]
    assert client.get("/api/health").json()["backend"] == "onnx"


def test_a_failing_model_answers_500_and_the_server_goes_on(ocr):
    class Flaky:
        backend = "flaky"
        calls = 0

        def predict_batch(self, images, beam=None, errors="raise", rerank=None):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("out of memory")
            return ocr.predict_batch(images, beam, errors, rerank)

    with TestClient(create_app(Flaky())) as client:
        first = client.post("/api/predict", files={"file": ("f.png", val_image(), "image/png")})
        second = client.post("/api/predict", files={"file": ("f.png", val_image(), "image/png")})
    assert first.status_code == 500 and "out of memory" in first.json()["detail"]
    assert second.status_code == 200 and second.json()["latex"]
