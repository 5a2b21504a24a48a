"""Local web app and HTTP API: `img2latex serve` (FastAPI under uvicorn).

- `POST /api/predict?beam=5`: the image as the multipart form field `file`, or JSON
  `{"image": "<base64>"}`; answers `{"latex", "score", "alternatives", "seconds"}`.
  `&rerank=true` picks among the beam's readings by typesetting them (rerank.py).
- `GET /api/health`, OpenAPI docs at `/docs`, the web page at `/`.

One model is loaded once. Requests wait in one queue that a single worker thread reads,
taking whatever has queued up as one batch, so memory does not grow with the number of
clients. Uploads over 10 MB and images over 40 megapixels get 413, unreadable ones 400, an
image with no formula 422, and a reading that takes over 30 s 504.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api import LatexOCR, Prediction
from .image import ImageTooLarge, load_gray
from .rerank import check_tools

MAX_UPLOAD_BYTES = 10 * 2**20
TIMEOUT_S = 30.0
MAX_BEAM = 10
MAX_BATCH = 16  # queued requests read together
WEB = Path(__file__).parent / "web"
REQUEST_BODY = {  # the body is parsed by hand (to cap its size), so describe it for /docs
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string", "format": "binary"}}}},
        "application/json": {"schema": {"type": "object", "required": ["image"],
                                        "properties": {"image": {"type": "string", "description": "base64"}}}},
    },
}


class UploadTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"the upload is larger than {MAX_UPLOAD_BYTES // 2**20} MB")


class LimitUploads:
    """ASGI middleware: refuses bodies over the limit, by their declared length or as they arrive."""

    def __init__(self, app: ASGIApp, limit: int = MAX_UPLOAD_BYTES):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        refuse = declared.isdigit() and int(declared) > self.limit
        received = 0

        async def capped() -> Message:
            nonlocal received
            if refuse:
                raise UploadTooLarge()
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise UploadTooLarge()
            return message

        await self.app(scope, capped, send)


@dataclass
class Job:
    gray: np.ndarray
    beam: int
    rerank: bool
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Reader:
    """One model, one worker thread, one queue: requests are read in batches of what has waited."""

    def __init__(self, ocr: LatexOCR):
        self.ocr = ocr
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="img2latex-reader")
        self.queue: asyncio.Queue[Job] = asyncio.Queue()

    @asynccontextmanager
    async def running(self, app: FastAPI) -> AsyncIterator[None]:
        """The app's lifespan: the queue and its worker live in the server's event loop."""
        self.queue = asyncio.Queue()
        worker = asyncio.get_running_loop().create_task(self._work())
        yield
        worker.cancel()

    async def read(self, gray: np.ndarray, beam: int, rerank: bool = False) -> Prediction:
        job = Job(gray, beam, rerank)
        await self.queue.put(job)
        return await job.done

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await self.queue.get()]
            while not self.queue.empty() and len(jobs) < MAX_BATCH:
                jobs.append(self.queue.get_nowait())
            jobs = [job for job in jobs if not job.done.done()]  # skip requests that timed out meanwhile
            for beam, rerank in sorted({(job.beam, job.rerank) for job in jobs}):
                group = [job for job in jobs if (job.beam, job.rerank) == (beam, rerank)]
                try:
                    results = await loop.run_in_executor(self.executor, lambda g=group, b=beam, r=rerank: self.ocr.predict_batch(
                        [j.gray for j in g], b, errors="keep", rerank=r))
                except Exception as e:  # noqa: BLE001 (handed to the waiting requests; the worker lives on)
                    for job in group:
                        if not job.done.done():
                            job.done.set_exception(e)
                    continue
                for job, result in zip(group, results):
                    if not job.done.done():  # its request may have timed out
                        job.done.set_result(result)


async def image_bytes(request: Request) -> bytes:
    """The uploaded image: multipart field `file`, or base64 in JSON `{"image": ...}`."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "send the image in the multipart form field 'file'")
        return await upload.read()
    if kind.startswith("application/json"):
        try:
            payload = await request.json()
        except ValueError:
            raise HTTPException(400, "the body is not valid JSON") from None
        text = payload.get("image") if isinstance(payload, dict) else None
        if not isinstance(text, str):
            raise HTTPException(400, 'send JSON of the form {"image": "<base64>"}')
        try:  # a data URL (data:image/png;base64,...) or bare base64
            return base64.b64decode(text.split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError):
            raise HTTPException(400, "the image field is not valid base64") from None
    raise HTTPException(415, "send the image as multipart/form-data (field 'file') or JSON {\"image\": \"<base64>\"}")


def create_app(ocr: LatexOCR | None = None, timeout_s: float = TIMEOUT_S) -> FastAPI:
    """The app around one model (the shipped one by default)."""
    reader = Reader(ocr or LatexOCR())
    app = FastAPI(title="img2latex", description="Images of formulas to LaTeX, on this machine.", lifespan=reader.running)
    app.add_middleware(LimitUploads)

    @app.post("/api/predict", openapi_extra={"requestBody": REQUEST_BODY})
    async def predict(request: Request, beam: int = Query(5, ge=1, le=MAX_BEAM), rerank: bool = False) -> dict:
        """Read one image; alternatives are its other readings (`Prediction.alternatives`)."""
        if rerank:
            _check_rerank(beam)
        data = await image_bytes(request)
        try:
            gray = await run_in_threadpool(load_gray, data)
        except ImageTooLarge as e:
            raise HTTPException(413, str(e)) from None
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(reader.read(gray, beam, rerank), timeout_s)
        except asyncio.TimeoutError:
            raise HTTPException(504, f"reading the image took longer than {timeout_s:g} s") from None
        except Exception as e:  # noqa: BLE001 (a JSON 500, not a traceback; the server goes on)
            raise HTTPException(500, f"reading the image failed: {e}") from None
        if result.error is not None:
            raise HTTPException(422, result.error)
        return {"latex": result.latex, "score": result.score, "seconds": round(time.perf_counter() - started, 4),
                "alternatives": [{"latex": latex, "score": score} for latex, score in result.alternatives]}

    @app.get("/api/health")
    async def health() -> dict:
        return {"status": "ok", "backend": reader.ocr.backend, "queued": reader.queue.qsize()}

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    app.mount("/static", StaticFiles(directory=WEB), name="static")
    return app


def _check_rerank(beam: int) -> None:
    """400 for a beam with nothing to choose from, 503 where the TeX tools are missing."""
    if beam < 2:
        raise HTTPException(400, "rerank chooses among the beam's readings: ask for beam=2 or more")
    try:
        check_tools()
    except ValueError as e:
        raise HTTPException(503, str(e)) from None


def serve(ocr: LatexOCR, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    uvicorn.run(create_app(ocr), host=host, port=port, log_level="info")
