"""Packing a dataset directory into a few large shard files (`img2latex pack`).

A rendered corpus is hundreds of thousands of small PNGs. Packed, it is a handful of
`shard-NNNNN.bin` files (the PNG bytes, back to back) and one `index.tsv`:

    shard<TAB>offset<TAB>length<TAB>height<TAB>width<TAB>image name<TAB>formula

Training reads a packed directory like a plain one (`dataset.FormulaDataset`), but starts
without opening every image to learn its size, reads each image with one seek, and the
data moves between machines as a few files of a chosen size (e.g. under a transfer limit).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .data import read_labels

INDEX = "index.tsv"


@dataclass(frozen=True)
class PackedImage:
    """Where one image's bytes lie in a shard."""

    shard: Path
    offset: int
    length: int

    def read(self) -> bytes:
        with open(self.shard, "rb") as f:
            f.seek(self.offset)
            return f.read(self.length)


def is_packed(directory: str | Path) -> bool:
    return (Path(directory) / INDEX).is_file()


def read_index(directory: str | Path) -> list[tuple[PackedImage, tuple[int, int], str]]:
    """(where the image is, its (height, width), formula) for every image of a packed directory."""
    directory, items = Path(directory), []
    for line in (directory / INDEX).read_text(encoding="utf-8").splitlines():
        shard, offset, length, height, width, _name, formula = line.split("\t", 6)
        items.append((PackedImage(directory / shard, int(offset), int(length)), (int(height), int(width)), formula))
    return items


def pack(source: str | Path, out: str | Path, shard_mb: float = 60.0) -> tuple[int, int]:
    """Pack the `labels.tsv` + `images/` directory `source` into `out`; returns (images, shards).

    Images listed in `labels.tsv` but missing or unreadable are left out. `out` is written
    beside itself and renamed into place, so it is never half-written.
    """
    source, out = Path(source), Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    limit, shards, lines = int(shard_mb * 2**20), 0, []
    shard = None
    try:
        for name, formula in read_labels(source):
            path = source / "images" / name
            try:
                with Image.open(path) as image:  # the header only
                    height, width = image.height, image.width
                data = path.read_bytes()
            except (OSError, ValueError):
                continue
            if shard is None or (shard.tell() and shard.tell() + len(data) > limit):
                if shard is not None:
                    shard.close()
                shard, shards = open(tmp / f"shard-{shards:05d}.bin", "wb"), shards + 1
            lines.append(f"{Path(shard.name).name}\t{shard.tell()}\t{len(data)}\t{height}\t{width}\t{name}\t{formula}\n")
            shard.write(data)
    finally:
        if shard is not None:
            shard.close()
    (tmp / INDEX).write_text("".join(lines), encoding="utf-8")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return len(lines), shards
