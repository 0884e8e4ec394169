"""Pretrains BehaveGPT with PyTorch (DDP) and writes the model folders the app and the Node
commands load: the twin of `npm run pretrain` (src/cli/pretrain.ts), same flags and defaults.

  /usr/bin/python3 -m trainer.pretrain --region us --objective dro --tau 0.1 --dro-radius 0.03 --dro-tail-mix 0.02
  /usr/bin/python3 -m trainer.pretrain --nproc 2 ...              # built-in spawn launcher (one machine)
  torchrun --nproc_per_node 8 -m trainer.pretrain --device cuda --amp bf16 ...
  torchrun --nnodes 4 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint HOST:29500 -m trainer.pretrain ...
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import time
from typing import Dict, List, Optional

import numpy as np
import torch

from . import distributed
from .batch import Encoder, bucket_batches, to_examples
from .data import REGIONS, DataError, Sequences, default_data_dir, load_region, read_log_file, split_sequences
from .evaluate import evaluate_model, full_metrics, head_behaviors
from .losses import OBJECTIVES
from .model import BehaveGPT, count_parameters, is_embedding_parameter
from .recipe import DEFAULT_CONFIG, SHIPPED_SIZE, SIZES, build_config, build_vocabularies, size_overrides
from .rng import create_rng, shuffle
from .train import SELECT_BY, TrainOptions, train_model
from .vocab import Vocabulary
from .weights import save_model_dir


def parser() -> argparse.ArgumentParser:
    d = TrainOptions()
    p = argparse.ArgumentParser(prog="python3 -m trainer.pretrain", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--data", help=f"data folder (default: $BEHAVEGPT_DATA or {default_data_dir()})")
    a("--region", default="us", choices=REGIONS, help="SmartThings region (default us)")
    a("--file", help="a behavior log instead of a region: canonical CSV or timestamped log, plain or .gz")
    a("--valid-fraction", type=float, default=0.1, help="for a --file without a split column: share of sequences for valid (default 0.1)")
    a("--test-fraction", type=float, default=0.1, help="for a --file without a split column: share for test (default 0.1)")
    a("--max-bytes", type=int, default=256 * 1024 * 1024, help="largest accepted (decompressed) input (default 256 MiB)")
    a("--out", help="int8 model folder (default public/models/behavegpt-<region>)")
    a("--fp32-out", help="float32 model folder (default models/behavegpt-<region>-fp32); 'none' to skip")
    a("--onnx", help="also write the (float32) network as ONNX to this file")
    a("--name", help="model name in the manifest")
    a("--seed", type=int, default=0)
    a("--epochs", type=int, default=d.epochs)
    a("--patience", type=int, default=d.patience)
    a("--min-steps", type=int, default=0)
    a("--size", default=SHIPPED_SIZE, help=f"architecture: {', '.join(SIZES)} (default {SHIPPED_SIZE}, the shipped one)")
    a("--batch", type=int, default=d.batch_size, help="global batch size (all processes together)")
    a("--lr", type=float, default=d.learning_rate)
    a("--warmup", type=int, default=d.warmup_steps)
    a("--dropout", type=float)
    a("--layers", type=int)
    a("--heads", type=int)
    a("--behavior-dim", type=int)
    a("--context", type=int)
    a("--label-smoothing", type=float, default=0.0)
    a("--weight-decay", type=float, default=d.weight_decay)
    a("--no-context", action="store_true", help="context-free ablation (behavior stream only)")
    a("--no-time-head", action="store_true", help="no time head (the model then cannot generate trajectories)")
    a("--joint-time-head", action="store_true", help="train the time head jointly, as the shipped model")
    a("--objective", default="ce", choices=OBJECTIVES)
    a("--tau", type=float)
    a("--beta", type=float)
    a("--dro-radius", type=float)
    a("--dro-tail-mix", type=float)
    a("--dro-ema", type=float)
    a("--dro-max-weight", type=float)
    a("--dro-prior-beta", type=float)
    a("--select-by", default="loss", choices=SELECT_BY)
    g = p.add_argument_group("PyTorch")
    g.add_argument("--nproc", type=int, default=1, help="processes on this machine via the built-in spawn launcher (not under torchrun)")
    g.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    g.add_argument("--threads", type=int, help="CPU threads per process (default: cores / processes)")
    g.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step (same global batch)")
    g.add_argument("--amp", choices=["bf16", "fp16"], help="mixed precision (CUDA; bf16 also on CPU)")
    g.add_argument("--checkpoint-dir", help="checkpoint here and resume from it when it holds one")
    g.add_argument("--checkpoint-every", type=int, default=0, help="also checkpoint every N steps (default: epoch ends)")
    g.add_argument("--no-test", action="store_true", help="do not evaluate on test")
    g.add_argument("--record", help="also write a run record (valid/test figures, timings) as JSON here")
    return p


def objective_from_args(a) -> Dict:
    spec: Dict = {"name": a.objective, "labelSmoothing": a.label_smoothing}
    if a.tau is not None:
        spec["tau"] = a.tau
    if a.beta is not None:
        spec["beta"] = a.beta
    if a.objective == "dro":
        dro = {k: v for k, v in (("radius", a.dro_radius), ("tailMix", a.dro_tail_mix), ("emaRate", a.dro_ema),
                                 ("maxWeight", a.dro_max_weight), ("priorBeta", a.dro_prior_beta)) if v is not None}
        spec["dro"] = dro
    return spec


def load_splits(a) -> Dict[str, Sequences]:
    if a.file:
        log = read_log_file(a.file, max_bytes=a.max_bytes)
        if all(s is None for s in log.seq_splits):
            n = len(log.seq_ids)
            order = shuffle(list(range(n)), create_rng(0))
            n_test, n_valid = round(a.test_fraction * n), round(a.valid_fraction * n)
            for i, s in enumerate(order):
                log.seq_splits[s] = "test" if i < n_test else "valid" if i < n_test + n_valid else "train"
        elif any(s is None for s in log.seq_splits):
            raise DataError(a.file, None, "split", "some sequences have a split and others not")
    else:
        log = load_region(a.region, a.data)
    return {s: split_sequences(log, s) for s in ("train", "valid", "test")}


def git_commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], stderr=subprocess.DEVNULL).decode().strip()
    except Exception:
        return "unknown"


def fmt_duration(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    m, sec = int(s // 60), round(s % 60)
    return f"{m}m{sec:02d}s" if m > 0 else f"{sec}s"


def round4(m: Dict) -> Dict:
    return {k: (round(v * 1e4) / 1e4 if isinstance(v, float) and math.isfinite(v) else v) for k, v in m.items()}


@torch.no_grad()
def generation_correction(model: BehaveGPT, train: Sequences, behaviors: Vocabulary, locations: Vocabulary, label: str, device) -> Dict:
    """fitGenerationCorrection: log empirical frequency − log mean predicted probability."""
    model.eval()
    enc = Encoder(train.log, behaviors, locations)
    ex = to_examples(train, int(model.config["contextLength"]))
    total = torch.zeros(behaviors.size, dtype=torch.float64)
    count = 0
    for idx in bucket_batches(ex.length, 128):
        e = ex.take(idx)
        batch = {k: torch.from_numpy(v).to(device) for k, v in enc.encode(e).items()}
        probs = torch.softmax(model.batch_forward(batch)[0].float(), -1).cpu().double()
        T = probs.shape[1]
        t = np.arange(T)[None, :]
        lo = np.maximum(e.first, np.where(e.offset == 0, 1, 0))[:, None]
        keep = torch.from_numpy((t >= lo) & (t < e.length[:, None]))
        total += probs[keep].sum(0)
        count += int(keep.sum())
    mean = (total / max(count, 1)).numpy()
    counts = train.behavior_counts()
    names = [n for i, n in enumerate(behaviors.tokens) if not behaviors.is_special(i)]
    n_total = sum(counts.get(n, 0) for n in names)
    out = {}
    for n in names:
        empirical = (counts.get(n, 0) + 1) / (n_total + len(names))
        out[n] = math.floor((math.log(empirical) - math.log(max(mean[behaviors.id(n)], 1e-9))) * 1e4 + 0.5) / 1e4
    return {"behaviorLogCorrection": out, "fittedOn": f"{label}: log empirical frequency − log mean predicted probability per behavior"}


def run(a) -> None:
    """One process's part of a (possibly distributed) run."""
    device = distributed.pick_device(int(os.environ.get("LOCAL_RANK", "0")), a.device)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    torch.set_num_threads(a.threads or max(1, (os.cpu_count() or 1) // local_world))
    ctx = distributed.init_process_group(device)
    say = (lambda *x: print(*x, flush=True)) if ctx.main else (lambda *x: None)
    splits = load_splits(a)
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    behaviors, locations = build_vocabularies(train)
    overrides = size_overrides(a.size)
    sized = {**DEFAULT_CONFIG, **overrides}
    config = build_config(behaviors, locations, {
        **overrides,
        "contextLength": a.context or sized["contextLength"],
        "numLayers": a.layers or sized["numLayers"],
        "numHeads": a.heads or sized["numHeads"],
        "behaviorDim": a.behavior_dim or sized["behaviorDim"],
        "dropout": a.dropout if a.dropout is not None else sized["dropout"],
        "useContext": not a.no_context,
        "timeHead": not a.no_time_head,
    })
    if a.joint_time_head and a.no_time_head:
        raise SystemExit("--joint-time-head and --no-time-head exclude each other")
    o = TrainOptions(epochs=a.epochs, batch_size=a.batch, learning_rate=a.lr, warmup_steps=a.warmup, weight_decay=a.weight_decay,
                     min_steps=a.min_steps, patience=a.patience, seed=a.seed, objective=objective_from_args(a), select_by=a.select_by,
                     time_head_detached=not a.joint_time_head, grad_accum=a.grad_accum, amp=a.amp,
                     checkpoint_dir=a.checkpoint_dir, checkpoint_every=a.checkpoint_every)
    source = a.file or a.region
    say(f"pretrain: {source} train {len(train)} sequences / {train.events} events, valid {len(valid)}; {behaviors.size - 3} behaviors; "
        f"PyTorch {torch.__version__} on {device}, {ctx.world_size} process(es), {torch.get_num_threads()} thread(s) each; seed {a.seed}")
    model = BehaveGPT(config, seed=a.seed)
    say(f"model: {model.parameter_count} parameters ({count_parameters(config, lambda n: not is_embedding_parameter(n))} non-embedding)")
    last = [0.0]

    def progress(p: Dict) -> None:
        now = time.perf_counter()
        if p["kind"] == "step":
            if now - last[0] < 5 and p["step"] != p["totalSteps"]:
                return
            last[0] = now
            say(f"  epoch {p['epoch']} step {p['step']}/{p['totalSteps']} loss {p['loss']:.4f} lr {p['learningRate']:.2e} "
                f"{p['stepsPerSecond']:.2f} steps/s {round(p['tokensPerSecond'])} tok/s ETA ≤ {fmt_duration(p['etaSeconds'])}")
        else:
            v = p["valid"]
            m = v["metrics"]
            say(f"epoch {p['epoch']}: train loss {p['loss']:.4f} | valid loss {v['loss']:.4f} R@1 {m.get('weighted_recall@1', math.nan):.4f} "
                f"R@5 {m.get('weighted_recall@5', math.nan):.4f} macroR@5 {m.get('macro_recall@5', math.nan):.4f}{' *' if p['improved'] else ''}")

    result = train_model(model, train, valid, behaviors, locations, o, ctx, progress)
    say(f"trained {result.steps} steps in {fmt_duration(result.seconds)}; best epoch {result.best_epoch}{' (early stop)' if result.stopped_early else ''}; "
        f"{round(result.tokens / max(result.seconds, 1e-9))} tok/s over the run")
    eval_kw = dict(device=device, rank=ctx.rank, world_size=ctx.world_size, gather=ctx.all_gather_object)
    test_result = None if a.no_test else evaluate_model(model, test, behaviors, locations, **eval_kw)
    correction = generation_correction(model, train, behaviors, locations, f"{source} train", device) if config.get("timeHead") else None
    if not ctx.main:
        distributed.shutdown()
        return
    training = {
        "data": {"source": a.file or "Samsung SmartThings action logs (Jeon et al., CIKM 2022)", "region": None if a.file else a.region,
                 "trainSequences": len(train), "validSequences": len(valid)},
        "objective": o.objective,
        "seed": a.seed,
        "options": o.ts_options(),
        "steps": result.steps,
        "epochs": result.epochs_run,
        "bestEpoch": result.best_epoch,
        "seconds": round(result.seconds),
        "backend": f"pytorch {torch.__version__} {device.type} x{ctx.world_size}",
        "trainer": {"engine": "pytorch", "version": torch.__version__, "device": device.type, "processes": ctx.world_size,
                    "gradAccum": o.grad_accum, "amp": o.amp, "tokensPerSecond": round(result.tokens / max(result.seconds, 1e-9))},
        "valid": {"loss": round(result.best["loss"] * 1e4) / 1e4, **round4(result.best["metrics"])},
        **({"test": {"loss": round(test_result["loss"] * 1e4) / 1e4, **round4(test_result["metrics"])}} if test_result else {}),
        **({"time": {"valid": result.best.get("time"), "test": test_result.get("time")}} if test_result and test_result.get("time") else {}),
        **({"generation": correction} if correction else {}),
        "commit": git_commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z"),
    }
    say("valid", training["valid"])
    if test_result:
        say("test ", training["test"])
    name = a.name or f"behavegpt-{a.region if not a.file else 'custom'}"
    out = a.out or f"public/models/behavegpt-{a.region}"
    fp32_out = a.fp32_out or f"models/behavegpt-{a.region}-fp32"
    model.cpu()
    _, int8_bytes = save_model_dir(out, model, behaviors, locations, name, training, "uint8")
    msg = f"wrote {out} ({int8_bytes} weight bytes, int8)"
    if fp32_out != "none":
        _, fp32_bytes = save_model_dir(fp32_out, model, behaviors, locations, name, training, "float32")
        msg += f" and {fp32_out} ({fp32_bytes} bytes, float32)"
    if a.onnx:
        from .onnx_export import export_onnx

        export_onnx(model, a.onnx)
        msg += f" and {a.onnx}"
    say(msg)
    if a.record:
        head = head_behaviors(train.behavior_counts())
        record = {"args": vars(a), "training": training, "history": result.history,
                  **({"testFull": full_metrics(test_result["targets"], head)} if test_result else {})}
        os.makedirs(os.path.dirname(os.path.abspath(a.record)), exist_ok=True)
        with open(a.record, "w") as f:
            json.dump(record, f, indent=1, default=lambda x: None)
    distributed.shutdown()


def main(argv: Optional[List[str]] = None) -> None:
    a = parser().parse_args(argv)
    if distributed.launched_by_torchrun() or a.nproc <= 1:
        if a.nproc > 1 and distributed.launched_by_torchrun():
            raise SystemExit("--nproc is for the built-in launcher; under torchrun use --nproc_per_node")
        run(a)
    else:
        distributed.spawn(run, a.nproc, (a,))


if __name__ == "__main__":
    try:
        main()
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
