"""Keep the images of one font from a dataset rendered in several (`img2latex render --fonts`).

The renderer gives formula i (image `i.png`) the style `render.style_of(i, dpis, fonts, ...)`;
with the lists the dataset was rendered with, this picks one font's share of it, e.g. the
Computer Modern sixth of data/corpus-v2 (docs/TRAINING.md):

    python scripts/font_subset.py --data data/corpus-v2 --out data/corpus-v2-cm --font cm \
        --fonts cm,times,palatino,txfonts,pxfonts,euler --dpi 70,85,100

`OUT/labels.tsv` lists the kept images; `OUT/images` links to the source's images.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from img2latex.data import read_labels
from img2latex.render import style_of


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--font", required=True, help="the font to keep")
    ap.add_argument("--fonts", required=True, help="the render's --fonts, in its order")
    ap.add_argument("--dpi", required=True, help="the render's --dpi, in its order")
    args = ap.parse_args()
    fonts, dpis = args.fonts.split(","), [int(d) for d in args.dpi.split(",")]
    kept = [f"{name}\t{formula}\n" for name, formula in read_labels(args.data)
            if style_of(int(Path(name).stem), dpis, fonts, "min").font == args.font]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "labels.tsv").write_text("".join(kept), encoding="utf-8")
    if not (args.out / "images").exists():
        (args.out / "images").symlink_to((args.data / "images").resolve())
    print(f"kept {len(kept)} images in {args.font}")


if __name__ == "__main__":
    main()
