"""Does the data loader keep up with the model? Batches/s of the loader vs steps/s of training.

Reads augmented training batches as `img2latex train` does (size buckets, `num_workers`
processes) and times training steps of the config's model on the same batches, in fp32 and,
where the device has it natively (`train.bf16_native`), with bf16 autocast; with `--compile`,
each of those again under `torch.compile` (issue 3 asks for steps/s with and without). Every
variant first runs over all the batches once untimed (allocator, kernels and, compiled, one
compilation per new shape until it goes dynamic: that pass's seconds are printed as the
warm-up), then times a second pass. A variant whose compilation fails prints the compiler's
error in one line, and the others still run. Where the loader's batches/s is below the steps/s, the
accelerator waits on the CPU: add workers.
It also times opening the dataset (listing every item and its image size), which
`img2latex pack` shortens.

    python bench/loader_throughput.py --config configs/base.yaml --workers 0,1,2 --batches 60
    python bench/loader_throughput.py --data data/corpus-v2-packed --items 0 --workers 0,1
    python bench/loader_throughput.py --config configs/finetune-v12.yaml --workers 0,4 --compile
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch
from torch.utils.data import DataLoader

from img2latex.config import load_config
from img2latex.dataset import BucketBatchSampler, FormulaDataset, collate
from img2latex.models import Img2Latex
from img2latex.tokenizer import Vocab
from img2latex.train import bf16_native, build_optimizer, resolve_device, sequence_loss
from img2latex.weights import PACKAGED


def loader_rate(dataset: FormulaDataset, batches: list[list[int]], workers: int) -> float:
    loader = DataLoader(dataset, batch_sampler=batches, collate_fn=collate, num_workers=workers)
    iterator = iter(loader)
    next(iterator)  # worker start-up is paid once a training run, not per batch
    started = time.perf_counter()
    count = sum(1 for _ in iterator)
    return count / (time.perf_counter() - started)


def step_rate(cfg, vocab: Vocab, batches: list[tuple[torch.Tensor, torch.Tensor]], bf16: bool,
              compiled: bool) -> tuple[float, float]:
    """(seconds of the untimed warm-up pass, steps/s of the timed pass) over `batches`."""
    device = resolve_device(cfg.train.device)
    cfg.model.vocab_size = len(vocab)
    torch.manual_seed(0)
    model = Img2Latex(cfg.model).to(device).train()
    forward = torch.compile(model) if compiled else model
    optimizer = build_optimizer(model, cfg)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def one_pass() -> float:
        started = time.perf_counter()
        for images, tokens in batches:
            images, tokens = images.to(device), tokens.to(device)
            with autocast:
                loss = sequence_loss(forward(images, tokens[:, :-1]), tokens)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    warm_up = one_pass()
    return warm_up, len(batches) / one_pass()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="configs/base.yaml")
    ap.add_argument("--workers", default="0,1,2", help="comma-separated loader process counts to time")
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--items", type=int, default=5000, help="items read from each training directory (0: all)")
    ap.add_argument("--data", nargs="+", help="dataset directories to read instead of the config's training ones")
    ap.add_argument("--compile", action="store_true", help="also time each variant under torch.compile")
    args = ap.parse_args()
    cfg = load_config(args.config)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    vocab = Vocab.load(PACKAGED / "vocab.json")  # only its size matters here
    started = time.perf_counter()
    dataset = FormulaDataset(args.data or cfg.data.train, vocab, cfg.data, augment=True, limit=args.items or None)
    print(f"opening the dataset: {time.perf_counter() - started:.1f} s")
    sampler = BucketBatchSampler(dataset.sizes, cfg.data.batch_size, cfg.data.max_batch_pixels)
    batches = sampler.batches()[: args.batches + 1]
    print(f"{len(dataset)} items, batch size {cfg.data.batch_size}, {len(batches) - 1} batches timed")
    for workers in (int(w) for w in args.workers.split(",")):
        print(f"loader, {workers} worker processes: {loader_rate(dataset, batches, workers):.1f} batches/s")
    sample = list(itertools.islice(DataLoader(dataset, batch_sampler=batches, collate_fn=collate), len(batches)))
    device = resolve_device(cfg.train.device)
    precisions = (False, True) if bf16_native(device) else (False,)
    for compiled, bf16 in itertools.product((False, True) if args.compile else (False,), precisions):
        name = ("bf16 autocast" if bf16 else "fp32") + (", torch.compile" if compiled else "")
        try:
            warm_up, rate = step_rate(cfg, vocab, sample, bf16, compiled)
        except torch._dynamo.exc.TorchDynamoException as error:  # a compiler failure is a result too
            print(f"training steps on {device}, {name}: failed, {type(error).__name__}: {str(error).splitlines()[0]}")
            continue
        print(f"training steps on {device}, {name}: {rate:.2f} steps/s (warm-up pass {warm_up:.1f} s)")


if __name__ == "__main__":
    main()
