"""The training loop on a synthetic dataset: schedule, EMA, resume and fine-tuning."""

import dataclasses
import os
import subprocess
import sys

import pytest
import torch
from conftest import ROOT
from test_data import make_dataset

from img2latex.config import Config, DataConfig, TrainConfig, save_config
from img2latex import train as train_module
from img2latex.train import EMA, Trainer, bf16_native, fitted_max_steps, lr_at, sequence_loss, train
from img2latex.cli import main
from img2latex.weights import load_checkpoint, load_weights


@pytest.fixture
def cfg(tmp_path, tiny_model_config):
    make_dataset(tmp_path / "data")
    make_dataset(tmp_path / "val", n=4, label="{{ x }} ^ {{ {} }}")  # formulas of their own: never trained on
    return Config(
        model=tiny_model_config,
        data=DataConfig(train=[str(tmp_path / "data")], val=str(tmp_path / "val"), val_subset=4, max_label_tokens=20,
                        batch_size=4, num_workers=0),
        train=TrainConfig(out_dir=str(tmp_path / "run"), device="cpu", max_steps=4, eval_every=2, save_every=2,
                          warmup_steps=2, threads=1, ema_decay=0.9, bf16=False),
    )


def test_schedule_warms_up_then_decays_to_a_tenth(cfg):
    cfg.train.max_steps = 100
    assert lr_at(0, cfg) == pytest.approx(cfg.train.lr / 2)
    assert lr_at(2, cfg) == pytest.approx(cfg.train.lr)
    assert lr_at(100, cfg) == pytest.approx(cfg.train.lr / 10)


def test_fitted_max_steps_spend_the_seconds_left_at_the_timed_rate_less_a_spare():
    assert fitted_max_steps(100, steps_timed=50, seconds_timed=10.0, seconds_left=20.0) == 100 + int(0.95 * 5 * 20)
    assert fitted_max_steps(100, steps_timed=50, seconds_timed=10.0, seconds_left=-3.0) == 100


class Clock:
    """A clock that moves `slow` seconds each of its first `slow_reads` reads, then one: steps
    that speed up after a while, as a loader's do, whatever the CPU."""

    def __init__(self, slow_reads: int, slow: float):
        self.now, self.reads, self.slow_reads, self.slow = 0.0, 0, slow_reads, slow

    def time(self) -> float:
        self.reads += 1
        self.now += self.slow if self.reads <= self.slow_reads else 1.0
        return self.now


def test_a_fitted_run_decays_fully_as_its_minutes_end_and_resumes_with_its_fitted_steps(cfg, monkeypatch):
    clock = Clock(slow_reads=40, slow=3.0)  # about the first 40 steps at a third of the speed of the rest
    monkeypatch.setattr(train_module, "time", clock)
    cfg.train.max_minutes, cfg.train.max_steps, cfg.train.eval_every, cfg.train.fit_max_steps = 4.0, 1000, 1000, True
    trainer = Trainer(cfg, progress_bar=False)
    state = trainer.run()
    assert 0 < state.max_steps < 1000 and state.step == state.max_steps  # ended by its schedule, not the clock
    assert clock.now >= 0.85 * 240  # near the end of its minutes: the fit followed the speed-up
    assert lr_at(state.step, trainer.cfg) == pytest.approx(cfg.train.lr / 10)
    cfg.train.max_steps = 1000
    resumed = Trainer(cfg, resume=True, progress_bar=False)
    assert resumed.state.max_steps == resumed.cfg.train.max_steps == state.max_steps


@pytest.mark.skipif(not bf16_native(torch.device("cpu")), reason="this CPU would only emulate bf16")
def test_bf16_autocast_runs_on_a_cpu_with_native_bf16_and_keeps_the_loss(cfg):
    cfg.train.bf16 = True
    trainer = Trainer(cfg, progress_bar=False)
    trainer.model.eval()  # no dropout: the two passes differ by precision alone
    images, tokens = next(iter(trainer.loader()))
    with trainer.autocast():
        half = trainer.forward(images, tokens[:, :-1])
    full = trainer.forward(images, tokens[:, :-1])
    assert half.dtype == torch.bfloat16 and full.dtype == torch.float32
    assert sequence_loss(half, tokens).item() == pytest.approx(sequence_loss(full, tokens).item(), rel=0.02)
    cfg.train.bf16 = False
    with Trainer(cfg, progress_bar=False).autocast():
        assert trainer.forward(images, tokens[:, :-1]).dtype == torch.float32


def test_ema_follows_the_weights_and_applied_restores_them():
    model = torch.nn.Linear(2, 2)
    ema = EMA(model, decay=0.5)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)  # decay ramps: min(0.5, 2/11)
    expected = start + (1 - 2 / 11)
    assert torch.allclose(ema.shadow["weight"], expected)
    with ema.applied(model):
        assert torch.allclose(model.weight, expected)
    assert torch.allclose(model.weight, start + 1.0)


def test_resume_restores_the_ema_and_fine_tuning_starts_from_weights(cfg, tmp_path):
    best = train(cfg, progress_bar=False)
    log = tmp_path / "run" / "metrics.jsonl"
    logged = log.read_text()
    with log.open("a") as f:  # a record from past the checkpoint, as a run stopped between saves leaves
        f.write('{"step": 5, "loss": 1.0}\n')
    trainer = Trainer(cfg, resume=True, progress_bar=False)
    assert log.read_text() == logged
    saved = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["ema"]
    assert trainer.ema.updates == 4 and torch.equal(trainer.ema.shadow["encoder.stem.0.weight"],
                                                    saved["shadow"]["encoder.stem.0.weight"])

    cfg.train.out_dir, cfg.train.init_from = str(tmp_path / "fine"), str(best)
    cfg.model.d_model = 64  # ignored: fine-tuning keeps the architecture of the weights
    tuned = Trainer(cfg, progress_bar=False)
    start, _, vocab = load_weights(best)
    assert tuned.vocab.itos == vocab.itos and tuned.cfg.model.d_model == 32
    for key, value in start.state_dict().items():
        assert torch.equal(tuned.model.state_dict()[key], value)
    assert tuned.state.step == 0

    cfg.train.out_dir, cfg.train.add_encoder_layers, cfg.train.add_decoder_layers = str(tmp_path / "grown"), 1, 1
    cfg.train.add_cnn_blocks = [0, 0, 0, 1]  # the last stage's: no block moves, so every key keeps its name
    with pytest.raises(ValueError, match="init_from"):
        Trainer(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, init_from="")), progress_bar=False)
    grown = Trainer(cfg, progress_bar=False)
    assert (grown.cfg.model.encoder_layers, grown.cfg.model.decoder_layers) == (1, start.cfg.decoder_layers + 1)
    assert grown.cfg.model.blocks == [*start.cfg.blocks[:3], start.cfg.blocks[3] + 1]
    for key, value in start.state_dict().items():
        assert torch.equal(grown.model.state_dict()[key], value)


def test_the_device_script_goes_on_from_the_last_call_and_brings_back_weights(cfg, tmp_path):
    """scripts/device_train.sh, one call a lent GPU machine's run: each call trains for its
    minutes from where the last stopped, then puts the EMA weights and the log in $OUT."""
    pytest.importorskip("onnx", reason="the script exports ONNX graphs with the weights")
    save_config(cfg, tmp_path / "device.yaml")
    steps = []
    for call in range(2):
        out = tmp_path / f"out-{call}"
        out.mkdir()
        env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
        subprocess.run(["bash", "scripts/device_train.sh", str(tmp_path / "device.yaml"), "0.0001"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        assert (out / "metrics.jsonl").is_file() and "stopped at step" in (out / "train.log").read_text()
        steps.append(torch.load(tmp_path / "run" / "last.pt", weights_only=True)["progress"]["step"])
        model, _, _ = load_weights(out / "weights")
        ema = load_checkpoint(tmp_path / "run" / "last.pt")[0].state_dict()
        for key, value in model.state_dict().items():  # stored in fp16
            torch.testing.assert_close(value, ema[key], atol=2e-3, rtol=2e-3)
    assert steps == [1, 2]


def test_a_checkpoints_ema_exports_to_a_weights_directory_without_clobbering_files(cfg, tmp_path):
    pytest.importorskip("onnx", reason="ONNX export needs the `export` extra")
    train(cfg, progress_bar=False)
    last = tmp_path / "run" / "last.pt"
    ema = torch.load(last, weights_only=True)["ema"]["shadow"]
    model, _, vocab = load_checkpoint(last)
    assert all(torch.equal(value, ema[key]) for key, value in model.state_dict().items())
    out = tmp_path / "step-4"
    assert main(["export", "--checkpoint", str(last), "--onnx", str(out)]) == 0
    saved, _, saved_vocab = load_weights(out)
    assert saved_vocab.itos == vocab.itos and (out / "encoder.onnx").is_file()
    for key, value in saved.state_dict().items():  # stored in fp16
        torch.testing.assert_close(value, ema[key], atol=2e-3, rtol=2e-3)
    (out / "notes.txt").write_text("mine")
    assert main(["export", "--checkpoint", str(last), "--onnx", str(out)]) == 2
    assert (out / "notes.txt").read_text() == "mine"


def test_a_run_stopped_by_the_clock_resumes_to_the_same_weights(cfg, tmp_path, capsys):
    """`train.max_minutes` (a lent GPU's time a call): stop mid-epoch, save, and --resume goes on exactly."""
    cfg.train.eval_every = 100  # evaluation only at max_steps
    train(cfg, progress_bar=False)
    whole = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["model"]
    save_config(cfg, tmp_path / "run.yaml")
    assert main(["train", "--config", str(tmp_path / "run.yaml"), "--out-dir", str(tmp_path / "chunked"),
                 "--max-minutes", "1e-9"]) == 0
    stopped = torch.load(tmp_path / "chunked" / "last.pt", weights_only=True)["progress"]
    assert stopped["step"] == 1 and "stopped at step 1" in capsys.readouterr().out
    cfg.train.out_dir = str(tmp_path / "chunked")
    train(cfg, resume=True, progress_bar=False)
    resumed = torch.load(tmp_path / "chunked" / "last.pt", weights_only=True)
    assert resumed["progress"]["step"] == 4
    assert all(torch.equal(value, resumed["model"][key]) for key, value in whole.items())


def test_validation_formulas_are_never_trained_on(cfg, tmp_path, capsys):
    (tmp_path / "data" / "labels.tsv").write_text((tmp_path / "data" / "labels.tsv").read_text() + "0.png\t{ x } ^ { 1 }\n")
    assert len(Trainer(cfg, progress_bar=False).train_set) == 10 and "left out 1 " in capsys.readouterr().out
    cfg.data.val = cfg.data.train[0]
    with pytest.raises(ValueError, match="no training images left"):
        Trainer(cfg, progress_bar=False)


def test_a_packed_directory_with_respelled_labels_gives_the_vocabulary(cfg, tmp_path):
    from img2latex.pack import pack

    labels = tmp_path / "data" / "labels.tsv"
    labels.write_text(labels.read_text().replace("x ^", r"\mathbf { x } \to"))
    pack(tmp_path / "data", tmp_path / "packed")
    cfg.data.train, cfg.data.label_style = [str(tmp_path / "packed")], "im2latex"
    trainer = Trainer(cfg, progress_bar=False)
    assert {r"\bf", r"\rightarrow"} <= set(trainer.vocab.itos) and r"\mathbf" not in trainer.vocab.itos


def test_two_process_gloo_training_matches_one_process(cfg, tmp_path):
    """torchrun with 2 CPU processes, 2 images each, takes the same step as 1 process with 4."""
    import subprocess
    import sys

    from img2latex.data import read_labels

    data = tmp_path / "data"  # four same-size images with labels of equal length: equal shares
    lines = [line for line in (data / "labels.tsv").read_text().splitlines() if "\t" in line][:4]
    for k, line in enumerate(lines):
        (data / "images" / line.split("\t")[0]).write_bytes((data / "images" / "0.png").read_bytes())
        lines[k] = f"{line.split(chr(9))[0]}\tx ^ {{ {k} }}"
    (data / "labels.tsv").write_text("\n".join(lines) + "\n")
    assert len(read_labels(data)) == 4
    cfg.train.max_steps, cfg.train.eval_every, cfg.train.save_every, cfg.train.ema_decay = 1, 100, 1, 0.0
    cfg.train.warmup_steps = 1

    cfg.data.batch_size, cfg.train.out_dir = 4, str(tmp_path / "single")
    train(cfg, progress_bar=False)
    cfg.data.batch_size, cfg.train.out_dir = 2, str(tmp_path / "ddp")
    config = tmp_path / "ddp.yaml"
    save_config(cfg, config)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
               "-m", "img2latex", "train", "--config", str(config)]
    subprocess.run(command, check=True, timeout=300, capture_output=True)

    single = torch.load(tmp_path / "single" / "last.pt", weights_only=True)
    ddp = torch.load(tmp_path / "ddp" / "last.pt", weights_only=True)
    assert ddp["progress"]["step"] == single["progress"]["step"] == 1
    for key, value in single["model"].items():  # BatchNorm's running variance is process 0's own
        tolerance = dict(rtol=1e-3) if "running_var" in key else dict(atol=1e-5)  # (n / (n - 1) differs)
        assert torch.allclose(ddp["model"][key].float(), value.float(), **tolerance), key
    cfg.train.out_dir = str(tmp_path / "fresh")  # the step moved the weights away from the shared start
    start = Trainer(cfg, progress_bar=False).model.state_dict()["encoder.stem.0.weight"]
    assert not torch.allclose(single["model"]["encoder.stem.0.weight"], start, atol=1e-5)


def test_encoder_pretraining_learns_to_reconstruct_then_hands_over(cfg, tmp_path):
    import json

    from img2latex.models.pretrain import Pretrainer

    images = torch.zeros(2, 1, 20, 45)
    images[:, :, 5:15, 10:30] = 1.0
    torch.manual_seed(0)
    pretrainer = Pretrainer(Trainer(cfg, progress_bar=False).model.encoder, cfg.model)
    optimizer = torch.optim.Adam(pretrainer.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = pretrainer(images)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]  # it does learn to redraw the ink
    cfg.train.pretrain_steps, cfg.train.max_steps, cfg.train.eval_every, cfg.train.lr = 6, 8, 2, 3e-3
    cfg.train.warmup_steps = 1
    trainer = Trainer(cfg, progress_bar=False)
    logits = trainer.pretrainer.head(trainer.model.encoder(images), 20, 45)
    assert logits.shape == (2, 1, 24, 48)  # the encoder's 8x grid, covering the image
    trainer.run()
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "val_bleu" in r] == [8]  # no evaluation while pre-training
    assert "pretrain_head" in torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    Trainer(cfg, resume=True, progress_bar=False)  # the head and its optimizer state come back
