import pytest

from conftest import ROOT
from img2latex.config import Config, load_config, save_config
from img2latex.models import Img2Latex


def test_base_config_loads_and_model_fits_the_size_limit():
    cfg = load_config(ROOT / "configs" / "base.yaml")
    cfg.model.vocab_size = 600
    assert Img2Latex(cfg.model).num_parameters() <= 15_000_000
    assert cfg.data.augment.enabled and isinstance(cfg.data.augment.scale, tuple)


def test_round_trip(tmp_path):
    cfg = Config()
    cfg.train.lr = 1e-4
    save_config(cfg, tmp_path / "c.yaml")
    assert load_config(tmp_path / "c.yaml") == cfg


def test_unknown_keys_are_errors(tmp_path):
    (tmp_path / "c.yaml").write_text("train:\n  learning_rate: 0.1\n")
    with pytest.raises(ValueError, match="learning_rate"):
        load_config(tmp_path / "c.yaml")
