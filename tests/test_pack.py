import torch
from test_data import make_dataset

from img2latex.cli import main
from img2latex.config import DataConfig
from img2latex.dataset import FormulaDataset, formulas
from img2latex.pack import INDEX, is_packed, pack, read_index
from img2latex.tokenizer import Vocab


def test_packed_directory_reads_as_the_original(tmp_path):
    vocab = make_dataset(tmp_path / "plain")
    assert pack(tmp_path / "plain", tmp_path / "packed") == (10, 1)
    cfg = DataConfig(max_width=120)
    plain, packed = FormulaDataset([tmp_path / "plain"], vocab, cfg), FormulaDataset([tmp_path / "packed"], vocab, cfg)
    assert is_packed(tmp_path / "packed") and not is_packed(tmp_path / "plain")
    assert packed.sizes == plain.sizes and len(packed) == len(plain) == 7
    for k in range(len(plain)):
        assert torch.equal(packed[k][0], plain[k][0]) and torch.equal(packed[k][1], plain[k][1])


def test_an_image_over_the_limit_gets_a_shard_and_missing_images_are_left_out(tmp_path):
    make_dataset(tmp_path / "plain")
    (tmp_path / "plain" / "images" / "3.png").unlink()
    images, shards = pack(tmp_path / "plain", tmp_path / "packed", shard_mb=0.00005)  # 52 bytes: under any image
    assert images == 9 and shards == 9
    index = read_index(tmp_path / "packed")
    assert "x ^ { 3 }" not in [formula for _, _, formula in index]
    assert all(source.offset == 0 and source.length > 52 and source.read()[:8] == b"\x89PNG\r\n\x1a\n" for source, _, _ in index)
    assert not (tmp_path / "packed.tmp").exists()


def test_cli_pack(tmp_path, capsys):
    make_dataset(tmp_path / "plain")
    assert main(["pack", "--data", str(tmp_path / "plain"), "--out", str(tmp_path / "packed")]) == 0
    assert "packed 10 images into 1 shards" in capsys.readouterr().out and (tmp_path / "packed" / INDEX).is_file()


def test_shards_fill_up_to_the_limit(tmp_path):
    make_dataset(tmp_path / "plain")
    pack(tmp_path / "plain", tmp_path / "packed", shard_mb=0.001)  # 1 KiB
    shards = sorted((tmp_path / "packed").glob("shard-*.bin"))
    assert 1 < len(shards) < 10 and all(shard.stat().st_size <= 1024 for shard in shards)


def test_labels_are_respelled_in_plain_and_packed_directories(tmp_path):
    make_dataset(tmp_path / "plain")
    labels = tmp_path / "plain" / "labels.tsv"
    labels.write_text(labels.read_text().replace("x ^", r"\mathcal { X } \to"))
    pack(tmp_path / "plain", tmp_path / "packed")
    for directory in (tmp_path / "plain", tmp_path / "packed"):
        assert list(formulas(directory))[0] == r"\mathcal { X } \to { 0 }"
        assert list(formulas(directory, "im2latex"))[0] == r"{ \cal X } \rightarrow { 0 }"
    vocab = Vocab.build(formulas(tmp_path / "packed", "im2latex"))
    assert r"\mathcal" not in vocab.stoi
    item = FormulaDataset([tmp_path / "packed"], vocab, DataConfig(), style="im2latex")[0]
    assert vocab.decode(item[1].tolist()) == r"{ \cal X } \rightarrow { 0 }"
