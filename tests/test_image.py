import io

import numpy as np
import pytest
from PIL import Image

from img2latex.image import (AUTOSCALE_TRIES, MAX_PIXELS, REFERENCE_GLYPH_HEIGHT, autoscale_factor, blank_gaps,
                             crop_to_ink, glyph_height, load_gray, prepare, prepare_inputs, prepare_views, rescale)


def formula_like(h=40, w=120, dark_mode=False) -> np.ndarray:
    img = np.full((h, w), 255, np.uint8)
    img[15:25, 20:100] = 0
    return 255 - img if dark_mode else img


def test_crop_to_ink_pads_and_detects_blank():
    cropped = crop_to_ink(formula_like(), padding=4)
    assert cropped.shape == (10 + 8, 80 + 8)
    assert crop_to_ink(np.full((10, 10), 255, np.uint8), padding=4) is None


def test_prepare_gives_ink_as_high_values_and_respects_limits():
    x = prepare(formula_like(h=40, w=3000), max_height=64, max_width=500)
    assert x.dtype == np.float32 and x.max() == pytest.approx(1.0) and x[0, 0] == 0.0
    assert x.shape[1] <= 500


def test_inputs_of_every_kind(tmp_path):
    array = formula_like()
    path = tmp_path / "f.png"
    Image.fromarray(array).save(path)
    for source in (path, str(path), path.read_bytes(), Image.open(path), array, np.stack([array] * 3, -1)):
        assert np.array_equal(load_gray(source), array)


def test_dark_mode_and_transparency_become_dark_on_white():
    assert np.array_equal(load_gray(formula_like(dark_mode=True)), formula_like())
    rgba = np.zeros((40, 120, 4), np.uint8)  # transparent background
    rgba[15:25, 20:100, 3] = 255  # opaque black ink
    assert np.array_equal(load_gray(Image.fromarray(rgba, "RGBA")), formula_like())


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "no such file"),
    (lambda p: (p.write_bytes(b""), p)[1], "empty"),
    (lambda p: (p.write_text("hello, not an image"), p)[1], "not an image"),
    (lambda p: (p.write_bytes(_png_bytes()[:60]), p)[1], "damaged"),
])
def test_bad_files_raise_clear_value_errors(tmp_path, make, message):
    with pytest.raises(ValueError, match=message):
        load_gray(make(tmp_path / "x.png"))


def test_blank_image_is_refused():
    with pytest.raises(ValueError, match="blank"):
        prepare(load_gray(np.full((20, 20), 255, np.uint8)))


def test_decompression_bomb_is_refused(tmp_path):
    side = int(MAX_PIXELS**0.5) + 100  # a tiny file that claims a huge image
    Image.new("1", (side, side), 1).save(tmp_path / "bomb.png")
    with pytest.raises(ValueError, match="too large"):
        load_gray(tmp_path / "bomb.png")


def test_bad_arrays_are_refused():
    with pytest.raises(ValueError):
        load_gray(np.zeros((0, 5), np.uint8))
    with pytest.raises(ValueError):
        load_gray(12)


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(formula_like()).save(buf, "PNG")
    return buf.getvalue()


def glyphs(height: int, count: int = 6) -> np.ndarray:
    """A row of separate dark boxes `height` pixels tall, like letters of one font size."""
    img = np.full((height * 3, count * height * 2), 255, np.uint8)
    for k in range(count):
        img[height : 2 * height, k * 2 * height + 2 : k * 2 * height + height] = 0
    return img


def test_glyph_height_measures_the_font_size_not_the_layout():
    assert glyph_height(glyphs(8)) == pytest.approx(8)
    stacked = np.vstack([glyphs(8), glyphs(8)])  # two lines (e.g. a fraction): same font size
    assert glyph_height(stacked) == pytest.approx(8)
    assert glyph_height(np.full((20, 20), 255, np.uint8)) == 0.0


def test_autoscale_resizes_zoomed_images_only():
    native = glyphs(round(REFERENCE_GLYPH_HEIGHT))
    assert autoscale_factor(native) is None
    assert autoscale_factor(rescale(native, 1.1)) is None  # inside the band
    for factor in (0.6, 0.75, 3.0):  # small screenshots and a zoomed one come back to the reference size
        zoomed = rescale(native, factor)
        back = rescale(zoomed, autoscale_factor(zoomed))
        assert glyph_height(back) == pytest.approx(REFERENCE_GLYPH_HEIGHT, rel=0.2)  # glyphs: whole pixels
    zoomed = rescale(native, 3.0)
    as_is, *resized = prepare_views(zoomed, autoscale=True)
    assert all(view.shape[1] < as_is.shape[1] for view in resized) and np.array_equal(as_is[0], prepare(zoomed))
    assert len(prepare_views(native, autoscale=True)) == 1
    assert len(prepare_views(rescale(native, 1.2), autoscale=True)) == 1 + len(AUTOSCALE_TRIES)  # 1.18: over 1.15


def test_autoscale_tries_several_sizes_around_its_estimate():
    def width(view: np.ndarray) -> int:  # of the ink, first to last column
        columns = np.flatnonzero((view[0] > 0.5).any(axis=0))
        return int(columns[-1] - columns[0] + 1)

    zoomed = rescale(glyphs(round(REFERENCE_GLYPH_HEIGHT)), 3.0)
    _, *resized = prepare_views(zoomed, autoscale=True)
    assert len(resized) == len(AUTOSCALE_TRIES) > 1
    middle = width(resized[list(AUTOSCALE_TRIES).index(1.0)])
    assert [width(view) for view in resized] == pytest.approx([t * middle for t in AUTOSCALE_TRIES], rel=0.05)


def test_read_scale_enlarges_the_image_and_the_autoscaled_view():
    def ink_rows(view: np.ndarray) -> int:
        return int((view > 0.5).any(axis=1).sum())

    native, zoomed = glyphs(round(REFERENCE_GLYPH_HEIGHT)), glyphs(3 * round(REFERENCE_GLYPH_HEIGHT))
    enlarged = prepare_views(native, autoscale=True, read_scales=[1.2])
    assert len(enlarged) == 1  # inside the band around the reading size: read as it is, enlarged
    assert ink_rows(enlarged[0][0]) == pytest.approx(1.2 * ink_rows(prepare(native)), abs=1)
    as_is, *resized = prepare_views(zoomed, autoscale=True, read_scales=[1.2])
    assert ink_rows(as_is[0]) == pytest.approx(1.2 * ink_rows(prepare(zoomed)), abs=1)
    paper = np.round(255 * (1 - resized[list(AUTOSCALE_TRIES).index(1.0)][0])).astype(np.uint8)
    assert glyph_height(paper) == pytest.approx(1.2 * REFERENCE_GLYPH_HEIGHT, rel=0.1)


def test_several_read_scales_give_a_channel_each_around_their_mean():
    def ink_rows(view: np.ndarray) -> int:
        return int((view > 0.5).any(axis=1).sum())

    native, zoomed = glyphs(round(REFERENCE_GLYPH_HEIGHT)), glyphs(3 * round(REFERENCE_GLYPH_HEIGHT))
    (view,) = prepare_views(native, autoscale=True, read_scales=[1.0, 1.5])
    assert view.shape[0] == 2 and np.array_equal(view[0][: prepare(native).shape[0], : prepare(native).shape[1]],
                                                 prepare(native))  # the smaller channel padded with blank paper
    assert ink_rows(view[1]) == pytest.approx(1.5 * ink_rows(view[0]), abs=1)
    as_is, *resized = prepare_views(zoomed, autoscale=True, read_scales=[1.0, 1.5])
    heights = [glyph_height(np.round(255 * (1 - c)).astype(np.uint8)) / REFERENCE_GLYPH_HEIGHT
               for c in resized[list(AUTOSCALE_TRIES).index(1.0)]]
    assert heights[0] * 1.5 == pytest.approx(heights[1], rel=0.15)  # the channels keep their ratio,
    assert np.mean(heights) == pytest.approx(1.25, rel=0.15)  # around the mean read scale


def two_formulas(gap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three glyphs, `gap` blank columns, two glyphs (8 pixels tall, 10 apart): (image, left, right)."""
    left, right = glyphs(8, 3), glyphs(8, 2)
    return np.hstack([left, np.full((24, gap), 255, np.uint8), right]), left, right


def test_blank_gaps_are_the_runs_of_blank_columns_between_the_ink():
    ink = crop_to_ink(two_formulas(40)[0], 0)
    ((start, stop, width),) = blank_gaps(ink, 2.5)
    assert stop - start == 8 + 40 + 2 and width == pytest.approx(50 / 8)  # the glyphs' own margins, and the gap
    assert len(blank_gaps(ink, 1.0)) == 4  # and the three between glyphs (10 / 8 glyph heights)
    assert blank_gaps(ink, 7.0) == [] and blank_gaps(np.full((5, 5), 255, np.uint8), 1.0) == []


def test_wide_gaps_split_an_image_into_pieces_each_prepared_alone():
    image, left, right = two_formulas(40)
    whole, views, gaps = prepare_inputs(image, 2.5)
    assert gaps == [pytest.approx(50 / 8)] and len(views) == 2
    assert np.array_equal(views[0][0][0], prepare(left)) and np.array_equal(views[1][0][0], prepare(right))
    assert np.array_equal(whole[0], prepare_views(image)[0])
    for unsplit in (prepare_inputs(image, 7.0), prepare_inputs(glyphs(8), 2.5), prepare_inputs(image)):
        assert unsplit.pieces == unsplit.gaps == [] and len(unsplit.views) == 1


def test_pieces_are_resized_as_autoscale_resizes_the_whole_image():
    zoomed = rescale(two_formulas(40)[0], 3.0)
    whole, views, gaps = prepare_inputs(zoomed, 2.5, autoscale=True)
    assert gaps == [pytest.approx(50 / 8, rel=0.1)]  # in glyph heights: the same at any size
    assert all(np.array_equal(a, b) for a, b in zip(whole, prepare_views(zoomed, autoscale=True)))
    assert [len(v) for v in views] == [len(whole)] * 2 == [1 + len(AUTOSCALE_TRIES)] * 2
    assert all(v[1].shape[1] <= whole[1].shape[1] < v[0].shape[1] for v in views)
