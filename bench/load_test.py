"""Load test of `img2latex serve`: N requests at concurrency C against a fresh local server.

Starts the server in a subprocess, posts the first val images that have ink (a few val
images are blank pages, which the API rightly answers 422), one request each, cycling, and reports latency percentiles, errors (must be 0), throughput and the server's peak RSS.

    python bench/load_test.py --requests 300 --concurrency 8 --beam 5
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from img2latex.data import read_labels
from inference import peak_rss_mb  # bench/inference.py
from img2latex.image import crop_to_ink, load_gray


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"the server at {url} did not start within {seconds:g} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/im2latex100k/val")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--beam", type=int, default=5, help="the web page asks for 5")
    args = ap.parse_args()
    paths = [Path(args.data) / "images" / name for name, _ in read_labels(args.data)[: args.requests + 20]]
    paths = [path for path in paths if crop_to_ink(load_gray(path), 0) is not None][: args.requests]
    images = [paths[k % len(paths)].read_bytes() for k in range(args.requests)]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "img2latex", "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(url)
        with httpx.Client(timeout=60) as client:

            def post(image: bytes) -> tuple[float, int]:
                started = time.perf_counter()
                r = client.post(f"{url}/api/predict", params={"beam": args.beam}, files={"file": ("f.png", image, "image/png")})
                return time.perf_counter() - started, r.status_code

            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(post, images))
            wall = time.perf_counter() - started
        rss = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    seconds = sorted(s for s, _ in results)
    errors = sum(status != 200 for _, status in results)
    print(f"{args.requests} requests, concurrency {args.concurrency}, beam {args.beam}; "
          f"`python bench/load_test.py --requests {args.requests} --concurrency {args.concurrency} --beam {args.beam}`\n")
    print("| p50 (s) | p95 (s) | errors | requests/s | server peak RSS (MB) |\n| --- | --- | --- | --- | --- |")
    print(f"| {statistics.median(seconds):.3f} | {seconds[round(0.95 * (len(seconds) - 1))]:.3f} | {errors} "
          f"| {len(seconds) / wall:.1f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
