"""Training loop: `img2latex train --config configs/base.yaml [--resume]`.

AdamW with warm-up then cosine decay, gradient clipping and accumulation, bf16 autocast
(on CUDA and on CPUs with native bf16), optional `torch.compile` on CUDA, an optional EMA
of the weights, fine-tuning from a weights directory (`train.init_from`), and optional
encoder pre-training with an auto-encoder objective for the first `train.pretrain_steps`
steps (`models/pretrain.py`). Every `eval_every` steps it scores a val subset (loss and
greedy BLEU); the best model is exported as safetensors to `out_dir/best/`.
`out_dir/last.pt` holds everything needed to resume exactly (model, optimizer, data
position, random states); it and `best/` are replaced atomically. `out_dir/metrics.jsonl`
gets one JSON record per log interval and per evaluation (on resume, those past the checkpoint
are dropped, as their steps run again).

Under `torchrun --nproc_per_node N -m img2latex train ...` the same script and config train
with DistributedDataParallel (NCCL on GPUs, gloo on CPUs): each process reads its own share
of the size-bucketed batches (`data.batch_size` is per process), gradients are averaged, and
process 0 alone evaluates, logs and writes checkpoints.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, TextIO
from pathlib import Path

import numpy as np
import torch
from torch import distributed as dist
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from .config import Config, from_dict, save_config, to_dict
from .dataset import BucketBatchSampler, FormulaDataset, collate, formulas, token_key
from .decoding import greedy
from .grammar import Grammar
from .metrics import score
from .models import Img2Latex, with_layers
from .models.pretrain import Pretrainer
from .style import DEFAULT_STYLE, restyle
from .tokenizer import Vocab
from .torch_model import TorchModel
from .weights import load_weights, save_weights

LOG_EVERY = 20
FIT_WINDOW = 1 / 6  # of train.max_minutes: the latest steps whose rate `fit_max_steps` follows
FIT_SPARE = 0.05  # of the steps left: what evaluations and saving may take


@dataclass
class Progress:
    """Where training stands; saved in `last.pt`."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_bleu: float = -1.0
    evals_without_gain: int = 0
    max_steps: int = 0  # set by `train.fit_max_steps`; 0: the config's


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and dist.is_initialized():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device(name)


def bf16_native(device: torch.device) -> bool:
    """Whether bf16 autocast speeds `device` up: CUDA, or a CPU with AVX512-BF16 or AMX
    (`bench/loader_throughput.py` times both); elsewhere the CPU would emulate bf16 and run
    slower than fp32."""
    if device.type == "cuda":
        return True
    cpu = torch.cpu
    return device.type == "cpu" and (cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())


def init_distributed(device: str) -> tuple[int, int]:
    """(rank, world size): joins the process group where torchrun started several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    if not dist.is_initialized():
        cuda = device in ("cuda", "auto") and torch.cuda.is_available()
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist.get_rank(), world


def lr_at(step: int, cfg: Config) -> float:
    """Linear warm-up to `lr`, then cosine decay to a tenth of it at `max_steps`."""
    t = cfg.train
    if step < t.warmup_steps:
        return t.lr * (step + 1) / t.warmup_steps
    progress = min(1.0, (step - t.warmup_steps) / max(1, t.max_steps - t.warmup_steps))
    return t.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def fitted_max_steps(step: int, steps_timed: int, seconds_timed: float, seconds_left: float) -> int:
    """The step that `seconds_left` reach at the rate of the timed steps, less `FIT_SPARE`."""
    return step + int((1 - FIT_SPARE) * steps_timed / seconds_timed * max(0.0, seconds_left))


def build_optimizer(model: torch.nn.Module, cfg: Config) -> torch.optim.AdamW:
    """Weight decay on matrices and convolutions only, not on norms, biases or embeddings."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "embed" not in name and "pos" not in name else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.train.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.train.lr, betas=(0.9, 0.98))


def sequence_loss(logits: torch.Tensor, tokens: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy of predicting tokens[:, 1:], padding ignored."""
    return F.cross_entropy(logits.flatten(0, 1).float(), tokens[:, 1:].flatten(), ignore_index=Vocab.pad_id,
                           label_smoothing=label_smoothing)


def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state() -> dict:
    """Random states as plain types and tensors, so `torch.load(weights_only=True)` reads them."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return {"python": random.getstate(), "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            "torch": torch.get_rng_state()}


def _set_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])


class EMA:
    """Exponential moving average of a model's weights: a smoother model to evaluate and ship.

    The decay ramps up as (1 + n) / (10 + n) over the first updates, so early averages are
    not dominated by the random initialization.
    """

    def __init__(self, model: torch.nn.Module, decay: float, state: dict | None = None):
        self.decay, self.updates = decay, 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if state is not None:
            self.updates = int(state["updates"])
            self.shadow = {k: v.to(self.shadow[k].device) for k, v in state["shadow"].items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                self.shadow[k].lerp_(v, 1 - decay)
            else:
                self.shadow[k].copy_(v)

    @contextmanager
    def applied(self, model: torch.nn.Module) -> Iterator[None]:
        """The model holds the averaged weights inside the block, its own ones after."""
        own = {k: v.clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.shadow)
        try:
            yield
        finally:
            model.load_state_dict(own)

    def state_dict(self) -> dict:
        return {"updates": self.updates, "shadow": self.shadow}


class Trainer:
    def __init__(self, cfg: Config, resume: bool = False, progress_bar: bool = True):
        self.cfg, self.progress_bar = cfg, progress_bar
        self.out = Path(cfg.train.out_dir)
        growth = cfg.train.add_encoder_layers, cfg.train.add_decoder_layers, cfg.train.add_cnn_blocks
        grows = any(growth[:2]) or any(growth[2])  # layer counts, then a block count a stage
        if grows and not cfg.train.init_from:
            raise ValueError("train.add_encoder_layers, add_decoder_layers and add_cnn_blocks grow the model of "
                             "train.init_from: set both")
        self.out.mkdir(parents=True, exist_ok=True)
        self.rank, self.world = init_distributed(cfg.train.device)
        self.lead = self.rank == 0  # the process that evaluates, logs and saves
        self.device = resolve_device(cfg.train.device)
        self.bf16 = cfg.train.bf16 and bf16_native(self.device)  # asked once, not every step
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        checkpoint = None
        if resume:
            checkpoint = torch.load(self.out / "last.pt", map_location="cpu", weights_only=True)
            cfg.model = from_dict(checkpoint["config"]).model  # the architecture is the checkpoint's;
            self.vocab = Vocab(checkpoint["vocab"])  # data and schedule may change (e.g. more steps)
        else:
            random.seed(cfg.train.seed)
            np.random.seed(cfg.train.seed)
            torch.manual_seed(cfg.train.seed)
        if checkpoint is None and cfg.train.init_from:
            start, _, self.vocab = load_weights(cfg.train.init_from)
            if grows:
                start = with_layers(start, *growth)
            cfg.model = start.cfg
        elif checkpoint is None:
            self.vocab = Vocab.build(f for d in cfg.data.train for f in formulas(d, cfg.data.label_style))
        cfg.model.vocab_size = len(self.vocab)
        if cfg.data.max_label_tokens > cfg.model.max_tokens - 2:
            raise ValueError("data.max_label_tokens must leave room for <bos> and <eos> in model.max_tokens")
        if self.lead:
            save_config(cfg, self.out / "config.yaml")
            self.vocab.save(self.out / "vocab.json")

        val_formulas = frozenset(token_key(f) for f in formulas(cfg.data.val))  # never trained on
        self.train_set = FormulaDataset(cfg.data.train, self.vocab, cfg.data, augment=True, exclude=val_formulas,
                                        repeat=cfg.data.train_repeat, seed=cfg.train.seed, style=cfg.data.label_style)
        if not len(self.train_set):
            raise ValueError(f"no training images left in {', '.join(cfg.data.train)} (size limits, or every formula"
                             f" is one of the {len(val_formulas)} validation formulas)")
        if self.lead and self.train_set.excluded:
            print(f"left out {self.train_set.excluded} training images whose formula is a validation formula", flush=True)
        self.val_set = FormulaDataset([cfg.data.val], self.vocab, cfg.data, limit=cfg.data.val_subset)
        self.grammar = Grammar(self.vocab)
        self.sampler = BucketBatchSampler(self.train_set.sizes, cfg.data.batch_size, cfg.data.max_batch_pixels, cfg.train.seed)
        self.model = Img2Latex(cfg.model).to(self.device)
        if checkpoint is None and cfg.train.init_from:
            self.model.load_state_dict(start.state_dict())
        self.pretrainer = Pretrainer(self.model.encoder, cfg.model).to(self.device) if cfg.train.pretrain_steps else None
        self.forward, self.pretrain_forward = self._wrap(self.model), self._wrap(self.pretrainer)
        trained = self.model if self.pretrainer is None else torch.nn.ModuleList([self.model, self.pretrainer.head])
        self.optimizer = build_optimizer(trained, cfg)
        self.state = Progress()
        if checkpoint is not None:
            self.model.load_state_dict(checkpoint["model"])
            if self.pretrainer is not None:
                self.pretrainer.head.load_state_dict(checkpoint["pretrain_head"])
            self.optimizer.load_state_dict(checkpoint["optimizer"])
            self.state = Progress(**checkpoint["progress"])
            cfg.train.max_steps = self.state.max_steps or cfg.train.max_steps
            _set_rng_state(checkpoint["rng"])
        self.ema = None
        if cfg.train.ema_decay > 0:
            self.ema = EMA(self.model, cfg.train.ema_decay, checkpoint.get("ema") if checkpoint else None)
        self.log = self._open_log(resumed=checkpoint is not None) if self.lead else None

    def _open_log(self, resumed: bool) -> TextIO:
        """The metrics log, for appending. On resume, records past the checkpoint's step (logged
        before the run stopped, for steps it now runs again) are dropped: each step logs once."""
        path = self.out / "metrics.jsonl"
        if resumed and path.exists():
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if json.loads(line)["step"] <= self.state.step]
            path.write_text("".join(kept), encoding="utf-8")
        return path.open("a", encoding="utf-8")

    def _wrap(self, module: torch.nn.Module | None) -> torch.nn.Module | None:
        """DistributedDataParallel across processes (which also copies process 0's weights to
        all), then `torch.compile` where asked for on CUDA."""
        if module is not None and self.world > 1:
            module = DistributedDataParallel(module, device_ids=[self.device.index] if self.device.index is not None else None)
        if module is not None and self.cfg.train.compile and self.device.type == "cuda":
            module = torch.compile(module)
        return module

    def autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def write(self, record: dict) -> None:
        if self.log is None:
            return
        self.log.write(json.dumps(record) + "\n")
        self.log.flush()

    def save_last(self) -> None:
        if not self.lead:
            return
        _atomic_save({
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "progress": vars(self.state), "rng": _rng_state(), "config": to_dict(self.cfg), "vocab": self.vocab.itos,
            **({"ema": self.ema.state_dict()} if self.ema else {}),
            **({"pretrain_head": self.pretrainer.head.state_dict()} if self.pretrainer else {}),
        }, self.out / "last.pt")

    def loader(self) -> DataLoader:
        self.sampler.set_epoch(self.state.epoch)
        self.train_set.epoch = self.state.epoch
        batches = self.sampler.batches()
        batches = batches[: len(batches) // self.world * self.world][self.rank :: self.world]  # equal shares
        batches = batches[self.state.batch_in_epoch :]
        return DataLoader(self.train_set, batch_sampler=batches, collate_fn=collate,
                          num_workers=self.cfg.data.num_workers, persistent_workers=False)

    def train_step(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
        """One optimizer step over `accumulate` batches; returns the mean loss."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.state.step, self.cfg)
        self.model.train()
        total = 0.0
        for images, tokens in batches:
            images, tokens = images.to(self.device), tokens.to(self.device)
            with self.autocast():
                if self.pretraining:
                    loss = self.pretrain_forward(images) / len(batches)
                else:
                    logits = self.forward(images, tokens[:, :-1])
                    loss = sequence_loss(logits, tokens, self.cfg.train.label_smoothing) / len(batches)
            loss.backward()
            total += loss.item()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.train.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.model)
        return total

    @property
    def pretraining(self) -> bool:
        return self.state.step < self.cfg.train.pretrain_steps

    @contextmanager
    def shipped_weights(self) -> Iterator[None]:
        """The weights to evaluate and export: the EMA where there is one."""
        if self.ema is None:
            yield
        else:
            with self.ema.applied(self.model):
                yield

    @torch.no_grad()
    def evaluate(self) -> dict:
        """Val loss (teacher forced) and greedy-decoding metrics on the val subset."""
        self.model.eval()
        sampler = BucketBatchSampler(self.val_set.sizes, self.cfg.data.batch_size, self.cfg.data.max_batch_pixels, shuffle=False)
        loader = DataLoader(self.val_set, batch_sampler=sampler.batches(), collate_fn=collate)
        losses, refs, hyps = [], [], []
        for cpu_images, tokens in loader:
            images, tokens = cpu_images.to(self.device), tokens.to(self.device)
            with self.autocast():
                losses.append(sequence_loss(self.model(images, tokens[:, :-1]), tokens).item())
                readings = greedy(TorchModel(self.model), cpu_images.numpy(), grammar=self.grammar)
                hyps += [restyle(self.vocab.decode(h.ids), DEFAULT_STYLE) for h in readings]  # as `LatexOCR` reads
            refs += [self.vocab.decode(row) for row in tokens[:, 1:].tolist()]
        scores = score(refs, hyps)
        return {"val_loss": float(np.mean(losses)), **{f"val_{k}": v for k, v in scores.as_dict().items()}}

    def run(self) -> Progress:
        from tqdm import tqdm

        cfg, st = self.cfg.train, self.state
        bar = tqdm(total=cfg.max_steps, initial=st.step, disable=not (self.progress_bar and self.lead), unit="step")
        started, window, timed_out = time.time(), [], False
        fit = cfg.fit_max_steps and cfg.max_minutes > 0 and not st.max_steps  # a resumed call keeps its steps
        marks: deque[tuple[int, float]] = deque()  # (step, time) at each log interval, for the fit's rate
        while st.step < cfg.max_steps and st.evals_without_gain < cfg.patience and not timed_out:
            pending = []
            for batch in self.loader():
                st.batch_in_epoch += 1
                pending.append(batch)
                if len(pending) < cfg.accumulate:
                    continue
                window.append(self.train_step(pending))
                pending = []
                st.step += 1
                bar.update(1)
                if st.step % LOG_EVERY == 0:
                    if fit:
                        self.fit_max_steps(started, marks)
                        bar.total = cfg.max_steps
                    loss = float(np.mean(window))
                    bar.set_postfix(loss=f"{loss:.3f}")
                    kind = "pretrain_loss" if st.step <= cfg.pretrain_steps else "loss"  # reconstruction / tokens
                    self.write({"step": st.step, "epoch": st.epoch, kind: loss, "lr": lr_at(st.step, self.cfg),
                                "elapsed_s": round(time.time() - started, 1), **({"max_steps": cfg.max_steps} if fit else {})})
                    window = []
                if (st.step % cfg.eval_every == 0 or st.step == cfg.max_steps) and st.step > cfg.pretrain_steps:
                    if self.lead:
                        with self.shipped_weights():
                            self.after_eval(self.evaluate())
                    self.share_progress()
                if st.step % cfg.save_every == 0:
                    self.save_last()
                if st.step >= cfg.max_steps or st.evals_without_gain >= cfg.patience:
                    break
                if self.out_of_time(started):
                    timed_out = True
                    break
            else:
                st.epoch, st.batch_in_epoch = st.epoch + 1, 0
        self.save_last()
        bar.close()
        if timed_out and self.lead:
            print(f"stopped at step {st.step}: train.max_minutes ({cfg.max_minutes:g}) have passed; "
                  f"--resume goes on from there", flush=True)
        return st

    def fit_max_steps(self, started: float, marks: deque[tuple[int, float]]) -> None:
        """`train.fit_max_steps`, at each log interval: once the warm-up and `FIT_WINDOW` of the
        minutes have run, max_steps becomes the step the minutes left reach at the rate of the
        last `FIT_WINDOW` (a loader may take minutes to reach its speed); process 0's clock
        decides for all. The cosine then ends with the minutes, and last.pt keeps the steps."""
        cfg, st, now = self.cfg.train, self.state, time.time()
        span = FIT_WINDOW * 60 * cfg.max_minutes
        marks.append((st.step, now))
        while len(marks) > 2 and now - marks[1][1] >= span:
            marks.popleft()
        (step, then), left = marks[0], 60 * cfg.max_minutes - (now - started)
        timed = st.step > cfg.warmup_steps and now - then >= span
        fitted = [fitted_max_steps(st.step, st.step - step, now - then, left) if timed else 0]  # >= st.step
        if self.world > 1:
            dist.broadcast_object_list(fitted, src=0)
        if not fitted[0]:
            return
        if not st.max_steps and self.lead:
            print(f"\nstep {st.step}: {(st.step - step) / (now - then):.2f} steps/s, so max_steps {fitted[0]}, "
                  f"fitted again at each log interval", flush=True)
        st.max_steps = cfg.max_steps = fitted[0]

    def out_of_time(self, started: float) -> bool:
        """Whether `train.max_minutes` have passed; process 0's clock decides for all."""
        minutes = self.cfg.train.max_minutes
        if minutes <= 0:
            return False
        stop = [time.time() - started >= 60 * minutes]
        if self.world > 1:
            dist.broadcast_object_list(stop, src=0)
        return stop[0]

    def share_progress(self) -> None:
        """Every process learns process 0's early-stopping state, so all stop at the same step."""
        if self.world > 1:
            shared = [self.state.best_bleu, self.state.evals_without_gain]
            dist.broadcast_object_list(shared, src=0)
            self.state.best_bleu, self.state.evals_without_gain = shared

    def after_eval(self, metrics: dict) -> None:
        st = self.state
        improved = metrics["val_bleu"] > st.best_bleu
        if improved:
            st.best_bleu, st.evals_without_gain = metrics["val_bleu"], 0
            save_weights(self.model, self.cfg, self.vocab, self.out / "best")
        else:
            st.evals_without_gain += 1
        self.write({"step": st.step, **metrics, "best": improved})
        print(f"step {st.step}: " + " ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float)), flush=True)


def train(cfg: Config, resume: bool = False, progress_bar: bool = True) -> Path:
    """Train from `cfg` (or resume its `out_dir`); returns the directory of the best model."""
    trainer = Trainer(cfg, resume=resume, progress_bar=progress_bar)
    trainer.run()
    if trainer.lead and not (trainer.out / "best").exists():  # no evaluation ran yet: export what there is
        with trainer.shipped_weights():
            save_weights(trainer.model, trainer.cfg, trainer.vocab, trainer.out / "best")
    if dist.is_initialized():
        dist.barrier()  # the others leave once process 0 has written everything
        dist.destroy_process_group()
    return trainer.out / "best"
