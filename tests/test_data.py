import random

import numpy as np
import torch
from PIL import Image

from img2latex.config import AugmentConfig, DataConfig
from img2latex.data import read_labels
from img2latex.dataset import Augment, BucketBatchSampler, FormulaDataset, collate, token_key
from img2latex.tokenizer import Vocab


def make_dataset(root, n=10, label="x ^ {{ {} }}"):
    (root / "images").mkdir(parents=True)
    lines = []
    rng = np.random.default_rng(0)
    for i in range(n):
        img = np.full((20 + 3 * i, 60 + 10 * i), 255, np.uint8)
        img[5:12, 5:40] = rng.integers(0, 100)
        Image.fromarray(img).save(root / "images" / f"{i}.png")
        lines.append(f"{i}.png\t{label.format(i)}")
    lines.append("broken line without a tab")
    (root / "labels.tsv").write_text("\n".join(lines) + "\n")
    return Vocab.build(f for _, f in read_labels(root))


def test_read_labels_skips_malformed_lines(tmp_path):
    make_dataset(tmp_path)
    assert len(read_labels(tmp_path)) == 10


def test_dataset_items_limits_and_repeat(tmp_path):
    vocab = make_dataset(tmp_path)
    cfg = DataConfig(max_width=120)
    ds = FormulaDataset([tmp_path], vocab, cfg, repeat=[2])
    assert len(ds) == 2 * 7  # widths 60..150: three are over 120
    image, ids = ds[0]
    assert image.shape[0] == 1 and image.dtype == torch.float32 and ids[0] == vocab.bos_id


def test_excluded_formulas_are_left_out_whatever_their_spacing(tmp_path):
    vocab = make_dataset(tmp_path)
    ds = FormulaDataset([tmp_path], vocab, DataConfig(), exclude=frozenset({token_key("x ^ {  3 }"), "y"}))
    assert ds.excluded == 1 and len(ds) == 9
    assert vocab.encode("x ^ { 3 }") not in [ids for _, ids in ds.items]


def test_augmentation_is_deterministic_per_epoch_and_index(tmp_path):
    vocab = make_dataset(tmp_path)
    cfg = DataConfig(augment=AugmentConfig(enabled=True, noise_p=1.0, blur_p=1.0))
    ds = FormulaDataset([tmp_path], vocab, cfg, augment=True, seed=1)
    assert torch.equal(ds[3][0], ds[3][0])
    first = ds[3][0]
    ds.epoch = 1
    assert not torch.equal(first, ds[3][0])


def test_augment_keeps_the_image_readable():
    img = np.full((30, 80), 255, np.uint8)
    img[10:20, 10:70] = 0
    out = Augment(AugmentConfig(enabled=True, noise_p=1, blur_p=1, stroke_p=1, darken_p=1))(img)
    assert out.dtype == np.uint8 and (out < 128).any()


def test_darkening_makes_gray_strokes_darker_and_keeps_paper_white():
    img = np.full((30, 80), 255, np.uint8)
    img[10:20, 10:70] = 160  # an anti-aliased, gray stroke
    cfg = AugmentConfig(enabled=True, scale=(1.0, 1.0), blur_p=0, noise_p=0, stroke_p=0, pad_max=0, darken_p=1)
    out = Augment(cfg)(img)
    assert out[15, 40] <= 255 * (160 / 255) ** 1.5 + 1 and out[0, 0] == 255


def test_bucket_sampler_covers_everything_once_with_bounded_batches():
    rng = np.random.default_rng(0)
    sizes = [(int(h), int(w)) for h, w in zip(rng.integers(20, 160, 500), rng.integers(50, 600, 500))]
    sampler = BucketBatchSampler(sizes, batch_size=16, max_pixels=200_000, seed=3)
    batches = sampler.batches()
    assert sorted(i for b in batches for i in b) == list(range(500))
    for b in batches:
        h = max(sizes[i][0] for i in b)
        w = max(sizes[i][1] for i in b)
        assert len(b) <= 16 and (len(b) == 1 or h * w * len(b) <= 200_000)
    assert batches == sampler.batches()  # same epoch, same order: resumable
    sampler.set_epoch(1)
    assert batches != sampler.batches()


def test_collate_pads_images_with_blank_and_tokens_with_pad():
    a = (torch.ones(1, 4, 6), torch.tensor([1, 5, 2]))
    b = (torch.ones(1, 7, 3), torch.tensor([1, 5, 6, 7, 2]))
    images, tokens = collate([a, b])
    assert images.shape == (2, 1, 7, 6) and images[0, 0, 5:, :].sum() == 0
    assert tokens.shape == (2, 5) and tokens[0, 3:].tolist() == [Vocab.pad_id] * 2


def test_a_blank_image_in_a_dataset_is_read_as_blank_paper(tmp_path):
    (tmp_path / "images").mkdir()
    Image.fromarray(np.full((30, 90), 255, np.uint8)).save(tmp_path / "images" / "0.png")
    (tmp_path / "labels.tsv").write_text("0.png\t\\fbox { x }\n")
    vocab = Vocab.build(["\\fbox { x }"])
    image, _ = FormulaDataset([tmp_path], vocab, DataConfig())[0]
    assert image.shape == (1, 30, 90) and image.sum() == 0


def test_lowres_keeps_the_size_and_the_ink_but_loses_the_sharp_edges():
    img = np.full((30, 80), 255, np.uint8)
    img[5:25, 10:13] = 0  # a 3-pixel stroke: at half resolution its edges must blur
    cfg = AugmentConfig(enabled=True, scale=(1.0, 1.0), blur_p=0, noise_p=0, stroke_p=0, pad_max=0,
                        lowres_p=1, lowres=(0.5, 0.5))
    for seed in range(4):  # each of the shrink filters
        out = Augment(cfg, random.Random(seed))(img)
        assert out.shape == img.shape
        assert out[15, 11] < 128 and out[15, 40] > 240  # the stroke is still ink, the paper still paper
        assert ((out > 20) & (out < 235)).sum() > 10  # grey edges where there were none


def test_rotation_shear_and_jpeg_keep_all_the_ink():
    img = np.full((30, 80), 255, np.uint8)
    img[5:25, 4:8] = 0  # strokes at both ends: cutting either off would lose them
    img[5:25, 72:76] = 0
    cfg = AugmentConfig(enabled=True, scale=(1.0, 1.0), blur_p=0, noise_p=0, stroke_p=0, pad_max=0,
                        rotate_deg=5, shear=0.3, jpeg_p=1)
    for seed in range(8):
        out = Augment(cfg, random.Random(seed))(img)
        assert out.shape[1] > 80  # the canvas grew instead of cropping the slanted strokes
        ink_columns = np.flatnonzero((out < 128).any(axis=0))
        assert ink_columns[-1] - ink_columns[0] > 60  # both ends survived
        assert out[0, 0] > 200 and out[-1, -1] > 200  # corners stay paper
