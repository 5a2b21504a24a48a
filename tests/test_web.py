"""The web page in a real browser: Playwright driving Debian's Chromium against a live server.

Skips, saying why, only where Chromium or Playwright is absent (the README's setup installs both).
"""

import base64
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import VAL, needs_latex, needs_val
from img2latex import LatexOCR
from img2latex.serve import create_app

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    needs_val,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[dev]')")


SEND = """([event, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], "formula.png", { type: "image/png" }));
  if (event === "paste") document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer }));
  else document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: transfer }));
}"""


@pytest.fixture(scope="module")
def server():
    """uvicorn serving the shipped model on a free local port, in a thread."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(LatexOCR()), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_upload_reads_renders_and_copies(server, tmp_path):
    image, other = VAL / "images" / "36.png", VAL / "images" / "21.png"
    expected, other_expected = LatexOCR().predict(image, beam=5), LatexOCR().predict(other, beam=5).latex
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        context = browser.new_context(viewport={"width": 1000, "height": 900},
                                      permissions=["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.goto(server)
        page.set_input_files("#file", str(image))
        sync_api.expect(page.locator("#latex")).to_have_value(expected.latex, timeout=30_000)
        assert page.locator("#preview .katex").count() == 1  # KaTeX rendered it
        assert page.locator("#preview .katex-error").count() == 0
        assert page.locator("#alternatives li").count() == 1 + len(expected.alternatives)
        assert page.locator("#history li").count() == 1
        page.fill("#latex", r"\frac { a } { b }")  # editing updates the preview
        sync_api.expect(page.locator("#preview .mfrac")).to_have_count(1)
        page.locator("#alternatives li").first.click()  # choosing a reading puts it back
        sync_api.expect(page.locator("#latex")).to_have_value(expected.latex)
        page.click("#copy")
        sync_api.expect(page.locator("#status")).to_have_text("Copied.")
        assert page.evaluate("navigator.clipboard.readText()") == expected.latex
        for readings, event in enumerate(("paste", "drop"), start=2):  # the other ways in
            page.evaluate(SEND, [event, base64.b64encode(other.read_bytes()).decode()])
            sync_api.expect(page.locator("#history li")).to_have_count(readings, timeout=30_000)
            sync_api.expect(page.locator("#latex")).to_have_value(other_expected)
        page.set_input_files("#file", {"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image"})
        sync_api.expect(page.locator("#status.error")).to_contain_text("not an image")
        page.screenshot(path=str(tmp_path / "web.png"), full_page=True)
        browser.close()
    assert (tmp_path / "web.png").stat().st_size > 10_000


@needs_latex
def test_the_rerank_box_asks_for_render_and_compare(server):
    image = VAL / "images" / "5.png"
    expected = LatexOCR().predict_batch([image], beam=5, rerank=True)[0]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        page = browser.new_page()
        page.goto(server)
        page.check("#rerank")
        page.set_input_files("#file", str(image))
        sync_api.expect(page.locator("#latex")).to_have_value(expected.latex, timeout=30_000)
        assert page.locator("#alternatives li").count() == 1 + len(expected.alternatives)
        browser.close()
