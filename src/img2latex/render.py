"""Formulas -> grayscale images with real pdflatex, at the scale of im2latex-100k.

Many formulas go through one pdflatex run (one `preview` page each), so the start-up cost
of TeX is paid once per chunk. Formulas that fail are found from the log's line numbers,
dropped and reported, and the chunk is run again; nothing one formula does stops a run.
Images are rendered at twice the target resolution, cropped to the ink, padded and then
halved, which is how the im2latex-100k images were made. Halving by 2x2 min-pooling keeps
their bold strokes (bench/stroke_darkness.py); a box filter gives lighter, anti-aliased ones;
a Lanczos filter over a bilevel page, im2markup's own halving, also their faint rings.
For variety a dataset can mix math fonts and resolutions, chosen per formula, and it can set
`\\operatorname` in italic, as im2latex-100k's images show it (OPERATORNAMES).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from PIL import Image

from .image import crop_to_ink
from .normalize import NormalizeError, normalize

# Measured by bench/calibrate_render.py: at this resolution the glyphs of a val formula
# rendered here are as tall as in its im2latex-100k image.
DEFAULT_DPI = 85
# The document's point size. At the same letter height, 10pt sets sub- and superscripts wider
# than 12pt (7pt type under 10pt, 8pt under 12pt; Computer Modern is drawn anew for each size),
# as im2latex-100k's images do (IM2LATEX_STYLE, below).
SIZES = (10, 11, 12)
DEFAULT_SIZE = 12  # what every training set so far was rendered at
PADDING = 4  # white pixels around the ink, as in the im2latex-100k images
TIMEOUT_S = 15  # a chunk normally compiles in about a second
# The gray level under which a 2x pixel counts as inked for the "lanczos" halving: at 240 the
# shares of black and of faint non-white pixels are about val's (bench/stroke_darkness.py: 0.031
# and 0.501 against 0.037 and 0.545; 250 gives 0.038 and 0.494). Training data v7 used 240.
INKED = 240

# Math fonts the README's TeX packages provide: name -> preamble line.
FONTS = {
    "cm": "",  # Computer Modern, as in im2latex-100k
    "times": "\\usepackage{mathptmx}\n",
    "palatino": "\\usepackage{mathpazo}\n",
    "txfonts": "\\usepackage{txfonts}\n",
    "pxfonts": "\\usepackage{pxfonts}\n",
    "euler": "\\usepackage{euler}\n",
}
# How `\operatorname` (and so `\sin`, `\lim`, ..., which normalize to it) is typeset.
# "italic" is im2latex-100k's look: its images were made where `\operatorname` was not
# defined, so TeX dropped it and set its letters in math italic, a `\operatorname*`'s star
# printed (val 11.png: `\operatorname { e x p }` shows as italic exp; 45.png: *lim).
OPERATORNAMES = {"upright": "", "italic": "\\renewcommand{\\operatorname}{}\n"}


def _resized(a: np.ndarray, resample: Image.Resampling) -> np.ndarray:
    return np.asarray(Image.fromarray(a).resize((max(1, a.shape[1] // 2), max(1, a.shape[0] // 2)), resample))


HALVINGS = {
    "min": lambda a: a[: a.shape[0] // 2 * 2, : a.shape[1] // 2 * 2]
    .reshape(a.shape[0] // 2, 2, a.shape[1] // 2, 2).min(axis=(1, 3)),  # 2x2 min-pooling: bold strokes
    "box": lambda a: _resized(a, Image.Resampling.BOX),
    # im2markup's way: its scripts halve with PIL's Lanczos filter, here from a page made
    # bilevel where ink covers any of a pixel (INKED), as a rasterizer without anti-aliasing
    # that fills every touched pixel makes it. This gives im2latex-100k's faint rings around
    # strokes and the misreadings they cause (F read as P; docs/TRAINING.md, "Where the errors are").
    "lanczos": lambda a: _resized(np.where(a < INKED, 0, 255).astype(np.uint8), Image.Resampling.LANCZOS),
}


_UNSAFE = re.compile(
    r"\\(input|include|write|openout|openin|immediate|def|edef|gdef|let|catcode|csname|newcommand"
    r"|renewcommand|usepackage|documentclass|special|end\s*\{document\}|loop|read|jobname)\b"
)


@dataclass
class Rendered:
    """One formula's outcome: an image, or the reason there is none."""

    index: int
    formula: str
    image: np.ndarray | None = None
    error: str | None = None


_MARK = "IMG2LATEX-FORMULA-"


def _tex_source(formulas: list[str], style: Style) -> str:
    body = "".join(f"\\typeout{{{_MARK}{k}}}\\begin{{preview}}\\hbox{{$\\displaystyle {f} $}}\\end{{preview}}\n"
                   for k, f in enumerate(formulas))
    return style.preamble() + body + "\\end{document}\n"


def _first_line(style: Style) -> int:
    """The source line of the first formula (one line each follows)."""
    return style.preamble().count("\n") + 1


def _errors_by_formula(log: str, first_line: int, count: int) -> dict[int, str]:
    """Formula index -> error message, from the `! message ... l.123` pairs of the log."""
    errors: dict[int, str] = {}
    for message, line in re.findall(r"^! (.*?)$.*?^l\.(\d+)", log, re.MULTILINE | re.DOTALL):
        k = int(line) - first_line
        if 0 <= k < count:
            errors.setdefault(k, message.strip())
    return errors


def _run_pdflatex(formulas: list[str], workdir: Path, style: Style) -> tuple[bool, str]:
    """Compile one document of formulas; return whether it compiled cleanly, and the log."""
    (workdir / "f.tex").write_text(_tex_source(formulas, style), encoding="utf-8")
    for old in [*workdir.glob("p-*.png"), workdir / "f.pdf"]:
        old.unlink(missing_ok=True)
    try:
        subprocess.run(
            # line-buffered, so a timeout still shows which formula TeX was on
            ["stdbuf", "-oL", "pdflatex", "-interaction=nonstopmode", "-no-shell-escape", "f.tex"],
            cwd=workdir, capture_output=True, timeout=TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired as e:  # blame the formula TeX was working on
        marks = re.findall(_MARK + r"(\d+)", (e.output or b"").decode("latin-1"))
        return False, f"! pdflatex timed out\nl.{_first_line(style) + int(marks[-1]) if marks else 0}\n"
    log_path = workdir / "f.log"
    log = log_path.read_text(encoding="latin-1") if log_path.exists() else ""
    return (workdir / "f.pdf").exists() and "\n! " not in "\n" + log, log


def _rasterize(workdir: Path, dpi: int) -> list[Path]:
    """One PNG a page at twice `dpi`; none if pdftoppm fails."""
    try:
        subprocess.run(["pdftoppm", "-r", str(2 * dpi), "-gray", "-png", "f.pdf", "p"],
                       cwd=workdir, capture_output=True, timeout=TIMEOUT_S, check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return []
    return sorted(workdir.glob("p-*.png"), key=lambda p: int(p.stem.split("-")[1]))


def _to_image(page: Path, halving: str) -> np.ndarray | None:
    """Crop a 2x page to the ink, pad, halve: the im2latex-100k look."""
    hi = np.asarray(Image.open(page).convert("L"))
    cropped = crop_to_ink(hi, padding=2 * PADDING)
    return None if cropped is None else HALVINGS[halving](cropped)


@dataclass(frozen=True)
class Style:
    """How a chunk of formulas is typeset and rasterized; ValueError for a name it does not know."""

    dpi: int = DEFAULT_DPI
    font: str = "cm"
    halving: str = "min"
    operatorname: str = "upright"  # a key of OPERATORNAMES
    size: int = DEFAULT_SIZE  # one of SIZES

    def __post_init__(self) -> None:
        for what, value, known in (("font", self.font, FONTS), ("halving", self.halving, HALVINGS),
                                   ("operatorname look", self.operatorname, OPERATORNAMES), ("size", self.size, SIZES)):
            if value not in known:  # caught here, in the caller's process, not in a render worker
                raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(map(str, known))}")

    def preamble(self) -> str:
        return (f"\\documentclass[{self.size}pt]{{article}}\n\\usepackage{{amsmath,amssymb,amsfonts,bm,mathrsfs}}\n"
                + FONTS[self.font] + OPERATORNAMES[self.operatorname]
                + "\\usepackage[active,tightpage]{preview}\n\\pagestyle{empty}\n\\begin{document}\n")


# im2latex-100k's geometry: at 10pt and 100 dpi a val formula's ink is as tall and as wide as in
# its image (bench/calibrate_render.py; at 12pt and 85 dpi as tall, but 2% narrower for its smaller
# scripts). Render and compare (rerank.py) typesets readings in it.
IM2LATEX_STYLE = Style(dpi=100, size=10)


def render_chunk(items: list[tuple[int, str]], style: Style = Style()) -> list[Rendered]:
    """Render (index, formula) pairs in as few pdflatex runs as the failures allow."""
    results = {i: Rendered(i, f) for i, f in items}
    pending = []
    for i, f in items:
        if _UNSAFE.search(f):
            results[i].error = "refused: command not allowed in a formula"
        else:
            pending.append((i, f))
    with tempfile.TemporaryDirectory(prefix="img2latex-render-") as tmp:
        _render_into(pending, Path(tmp), style, results)
    return [results[i] for i, _ in items]


def render_all(formulas: list[str], style: Style = Style(), workers: int = 2, chunk: int = 64) -> list[Rendered]:
    """Render formulas in memory, in chunks over `workers` threads; results in input order.

    Threads, not processes: the work is in pdflatex and pdftoppm, which run as processes of
    their own, and threads are safe to start inside a server (no fork of its threads).
    """
    items = list(enumerate(formulas))
    jobs = [items[k : k + chunk] for k in range(0, len(items), chunk)]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        return [r for results in pool.map(render_chunk, jobs, [style] * len(jobs)) for r in results]


def _render_into(pending: list[tuple[int, str]], workdir: Path, style: Style, results: dict[int, Rendered]) -> None:
    first_line = _first_line(style)
    while pending:
        compiled, log = _run_pdflatex([f for _, f in pending], workdir, style)
        if compiled:
            pages = _rasterize(workdir, style.dpi)
            if len(pages) == len(pending):
                for (i, _), page in zip(pending, pages):
                    image = _to_image(page, style.halving)
                    results[i].image = image
                    results[i].error = None if image is not None else "renders to an empty image"
                return
            log = "! the PDF's pages do not match the formulas\n"  # no line to blame: split
        bad = _errors_by_formula(log, first_line, len(pending))
        if len(pending) == 1:
            results[pending[0][0]].error = "pdflatex failed: " + (bad.get(0) or _first_error(log))
            return
        if not bad:  # cannot tell which formula broke the run: split it
            half = len(pending) // 2
            _render_into(pending[:half], workdir, style, results)
            _render_into(pending[half:], workdir, style, results)
            return
        for k, message in bad.items():
            results[pending[k][0]].error = "pdflatex failed: " + message
        pending = [p for k, p in enumerate(pending) if k not in bad]


def _first_error(log: str) -> str:
    m = re.search(r"^! (.*)$", log, re.MULTILINE)
    return m.group(1).strip() if m else (log.strip()[:80] or "no output")


def read_formulas(path: str | Path, sources: set[str] | None = None, exclude: bool = False,
                  match: str | None = None) -> list[str]:
    """One formula a line; in a TSV file the formula is the last column.

    With `sources`, only TSV lines whose first column (the corpus's source) is one of them,
    or with `exclude`, is none of them; with `match`, only formulas where that regular
    expression matches.
    """
    lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if sources is not None:
        lines = [line for line in lines if (line.split("\t", 1)[0] in sources) != exclude]
    formulas = [line.rsplit("\t", 1)[-1] for line in lines]
    return formulas if match is None else [f for f in formulas if re.search(match, f)]


def _prepare(formulas: Iterable[str]) -> Iterator[tuple[int, str | None, str]]:
    """(index, normalized formula or None, raw) for each input formula."""
    for i, raw in enumerate(formulas):
        try:
            yield i, normalize(raw), raw
        except NormalizeError:
            yield i, None, raw


def render_dataset(
    formulas: list[str], out: str | Path, dpis: list[int] | None = None, fonts: list[str] | None = None,
    halving: str = "min", operatorname: str = "upright", size: int = DEFAULT_SIZE, workers: int = 2, chunk: int = 64,
    progress: bool = True,
) -> tuple[int, int]:
    """Render formulas to `out/images/N.png` + `out/labels.tsv`, resuming a previous run.

    Labels are the normalized formulas; formulas already rendered or already failed (listed
    in `out/failed.tsv`) are skipped. Formula N gets the font and resolution picked for it by
    `style_of` (the same on every run). Returns (rendered now, failed now).
    """
    dpis, fonts = dpis or [DEFAULT_DPI], fonts or ["cm"]
    for font in fonts:
        Style(font=font, halving=halving, operatorname=operatorname, size=size)  # unknown names fail now
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    labels, failed = out / "labels.tsv", out / "failed.tsv"
    done = {line.split("\t", 1)[0] for path in (labels, failed) if path.exists()
            for line in path.read_text(encoding="utf-8").splitlines()}
    todo: dict[Style, list[tuple[int, str]]] = {}
    n_ok = n_bad = 0
    with labels.open("a", encoding="utf-8") as ok_f, failed.open("a", encoding="utf-8") as bad_f:
        for i, norm, raw in _prepare(formulas):
            if f"{i}.png" in done:
                continue
            if norm is None or not norm:
                bad_f.write(f"{i}.png\tcannot normalize\t{raw}\n")
                n_bad += 1
            else:
                todo.setdefault(style_of(i, dpis, fonts, halving, operatorname, size), []).append((i, norm))
        jobs = [(items[k : k + chunk], style) for style, items in todo.items() for k in range(0, len(items), chunk)]
        bar = _progress(sum(len(items) for items, _ in jobs), progress)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for results in pool.map(render_chunk, *zip(*jobs)) if jobs else []:
                for r in results:
                    if r.image is not None:
                        Image.fromarray(r.image).save(out / "images" / f"{r.index}.png", optimize=False)
                        ok_f.write(f"{r.index}.png\t{r.formula}\n")
                        n_ok += 1
                    else:
                        bad_f.write(f"{r.index}.png\t{r.error}\t{r.formula}\n")
                        n_bad += 1
                ok_f.flush()
                bad_f.flush()
                bar.update(len(results))
        bar.close()
    return n_ok, n_bad


def style_of(index: int, dpis: list[int], fonts: list[str], halving: str, operatorname: str = "upright",
             size: int = DEFAULT_SIZE) -> Style:
    """A fixed pseudo-random (font, resolution) for formula `index`, independent of the others."""
    mix = (index * 2654435761) & 0xFFFFFFFF  # Knuth's multiplicative hash spreads neighbours apart
    return Style(dpis[mix % len(dpis)], fonts[(mix // len(dpis)) % len(fonts)], halving, operatorname, size)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="formula", disable=not enabled, smoothing=0.05)
