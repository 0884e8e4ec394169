"""The training loop (src/train/trainer.ts) on torch.distributed.

Same recipe as the TS trainer: length-bucketed shuffled batches drawn from the same mulberry32
stream, AdamW (β2 0.99, global-norm clipping per optimizer group) with warm-up + cosine decay,
valid evaluation after every epoch, early stopping that restores the best weights. On top:

- data parallelism (DDP): every process draws the same global batches and takes its share of
  each one (DistributedBucketSampler); losses are normalised by the *global* batch's token
  weights and DRO folds the per-class losses of all processes, so N processes take the same
  steps as one process with the same batch size (tested);
- gradient accumulation (micro-batches within a global batch, same normalisation);
- mixed precision on GPU (bf16, or fp16 with a gradient scaler);
- checkpoints (atomic, every N steps and at each epoch end) and exact resume: a killed run
  continues from its last checkpoint to the same weights as an uninterrupted one (tested).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from .batch import IGNORE, Encoder, Examples, bucket_batches, time_targets, to_examples
from .data import Sequences
from .distributed import Context
from .evaluate import evaluate_model
from .losses import Objective, count_targets, cross_entropy
from .model import BehaveGPT
from .rng import Mulberry32, create_rng
from .vocab import Vocabulary

SELECT_BY = ("loss", "weighted_recall@1", "macro_recall@5")


@dataclass
class TrainOptions:
    epochs: int = 24
    batch_size: int = 64
    learning_rate: float = 3e-3
    warmup_steps: int = 100
    weight_decay: float = 0.05
    min_steps: int = 0
    evaluate_every: int = 0
    patience: int = 5
    seed: int = 0
    objective: Dict = field(default_factory=lambda: {"name": "ce"})
    select_by: str = "loss"
    time_head_weight: float = 1.0
    time_head_detached: bool = True
    # PyTorch-only settings (no TS counterpart):
    grad_accum: int = 1
    amp: Optional[str] = None  # None, "bf16" or "fp16" (CUDA only)
    checkpoint_dir: Optional[str] = None
    checkpoint_every: int = 0  # steps; 0 = at epoch ends only
    log_every_seconds: float = 5.0
    max_steps: Optional[int] = None  # stop after this many steps (benchmarks)
    evaluate: bool = True  # False: no valid evaluation (benchmarks)

    def ts_options(self) -> Dict:
        """The options in the TS trainer's names (recorded in model.json)."""
        return {
            "epochs": self.epochs, "batchSize": self.batch_size, "learningRate": self.learning_rate, "warmupSteps": self.warmup_steps,
            "weightDecay": self.weight_decay, "minSteps": self.min_steps, "evaluateEvery": self.evaluate_every, "patience": self.patience,
            "seed": self.seed, "objective": self.objective, "selectBy": self.select_by,
            "timeHead": {"weight": self.time_head_weight, "detached": self.time_head_detached},
        }


def cosine_schedule(step: int, total: int, warmup: int, peak: float, min_ratio: float = 0.1) -> float:
    """cosineSchedule: linear warm-up then cosine decay to min_ratio × peak."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def no_decay(name: str) -> bool:
    """AdamW's noDecay default: biases and layer-norm parameters (/\\.(b|beta|gamma)$/)."""
    return name.endswith((".b", ".beta", ".gamma"))


class OptimizerGroup:
    """One AdamW over some parameters, clipped by their own global norm (TS: one AdamW object)."""

    def __init__(self, params: Dict[str, torch.nn.Parameter], lr: float, weight_decay: float) -> None:
        self.params = params
        decay = [p for n, p in params.items() if not no_decay(n)]
        plain = [p for n, p in params.items() if no_decay(n)]
        groups = [g for g in ({"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}) if g["params"]]
        self.optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99), eps=1e-8)

    def set_lr(self, lr: float) -> None:
        for g in self.optimizer.param_groups:
            g["lr"] = lr

    def clip(self, max_norm: float = 1.0) -> float:
        """Global-norm clipping as the TS AdamW: scale = clip / max(norm, clip)."""
        grads = [p.grad for p in self.params.values() if p.grad is not None]
        if not grads:
            return 0.0
        norm = torch.sqrt(sum((g.float() ** 2).sum() for g in grads))
        scale = max_norm / torch.clamp(norm, min=max_norm)
        for g in grads:
            g.mul_(scale.to(g.dtype))
        return float(norm)


def optimizer_groups(model: BehaveGPT, o: TrainOptions) -> List[OptimizerGroup]:
    """optimizerGroups: the time head gets its own optimizer when it is detached."""
    params = model.ts_parameters()
    if not model.config.get("timeHead") or not o.time_head_detached:
        return [OptimizerGroup(params, o.learning_rate, o.weight_decay)]
    shared = {n: p for n, p in params.items() if not n.startswith("time.")}
    time_head = {n: p for n, p in params.items() if n.startswith("time.")}
    return [OptimizerGroup(g, o.learning_rate, o.weight_decay) for g in (shared, time_head) if g]


class DistributedBucketSampler(torch.utils.data.Sampler):
    """Length-bucketed global batches (bucketBatches, from the trainer's rng) split across
    processes: process r takes examples r, r + N, … of each global batch, then its share is cut
    into `micro` micro-batches. A plain DistributedSampler would hand whole batches to each
    process (N × the batch size per step) and lose the length bucketing; this one keeps the
    recipe's batch size and order whatever the process count."""

    def __init__(self, lengths: np.ndarray, batch_size: int, rank: int = 0, num_replicas: int = 1, micro: int = 1) -> None:
        self.lengths, self.batch_size, self.rank, self.num_replicas, self.micro = lengths, batch_size, rank, num_replicas, micro
        self.batches: List[np.ndarray] = []

    def set_epoch(self, rng: Mulberry32) -> List[np.ndarray]:
        """Draws this epoch's global batches (consumes rng exactly as bucketBatches does)."""
        self.batches = bucket_batches(self.lengths, self.batch_size, rng)
        return self.batches

    def shard(self, global_batch: np.ndarray) -> List[np.ndarray]:
        mine = global_batch[self.rank :: self.num_replicas]
        return [np.asarray(c, dtype=np.int64) for c in np.array_split(mine, self.micro)]

    def __iter__(self):
        for b in self.batches:
            yield self.shard(b)

    def __len__(self) -> int:
        return len(self.batches)


@dataclass
class TrainResult:
    best_epoch: int
    epochs_run: int
    steps: int
    seconds: float
    best: Dict
    history: List[Dict]
    stopped_early: bool
    tokens: int = 0


def _score(result: Dict, select_by: str) -> float:
    return -result["loss"] if select_by == "loss" else result["metrics"][select_by]


def _load_checkpoint(path: str) -> Dict:
    # Our own file (options, metrics, random state besides tensors): PyTorch >= 2.6 loads only
    # tensors by default, 1.13 has no such switch everywhere.
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:
        return torch.load(path, map_location="cpu")


def _snapshot(model: BehaveGPT) -> Dict[str, torch.Tensor]:
    return {n: p.detach().clone().cpu() for n, p in model.ts_parameters().items()}


def _restore(model: BehaveGPT, saved: Dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for n, p in model.ts_parameters().items():
            p.copy_(saved[n].to(p.device))


def _autocast(device: torch.device, amp: Optional[str]):
    """Mixed precision: bf16 or fp16 on CUDA, bf16 on CPU (layer norms and softmax stay float32)."""
    if not amp:
        return _Null()
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16 if amp == "bf16" else torch.float16)
    return torch.autocast(device_type="cpu", dtype=torch.bfloat16)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _grad_scaler(enabled: bool):
    # torch.amp.GradScaler("cuda") in recent 2.x; torch.cuda.amp.GradScaler in 1.13 (deprecated later).
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


def _empty_examples(like: Examples) -> Examples:
    """One example whose targets all count for nothing: a process with no share of a small last
    batch still runs forward/backward (DDP needs every process to)."""
    return Examples(like.start[:1], np.minimum(like.length[:1], 1), np.minimum(like.length[:1], 1), like.seq[:1], like.offset[:1])


class Stepper:
    """One optimizer step on a global batch, shared by training and the throughput benchmark
    (trainStep in trainer.ts): this process's share in micro-batches, losses normalised by the
    global batch's token weights, DDP gradient averaging, per-group clipping, DRO update from the
    per-class losses of every process."""

    def __init__(self, model: BehaveGPT, train: Sequences, examples: Examples, behaviors: Vocabulary, locations: Vocabulary,
                 o: TrainOptions, ctx: Context) -> None:
        device = ctx.device
        self.model, self.examples, self.o, self.ctx, self.device = model, examples, o, ctx, device
        self.groups = optimizer_groups(model, o)
        self.objective = Objective(o.objective, count_targets(train, behaviors), behaviors.is_special, device)
        self.encoder = Encoder(train.log, behaviors, locations)
        self.sampler = DistributedBucketSampler(examples.length, o.batch_size, ctx.rank, ctx.world_size, max(1, o.grad_accum))
        self.wrapped = DDP(model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False) if ctx.distributed else model
        self.scaler = _grad_scaler(o.amp == "fp16" and device.type == "cuda")
        self.joint_time = bool(model.config.get("timeHead"))
        self.comm_device = device if device.type == "cuda" else torch.device("cpu")
        self.V = behaviors.size

    def set_lr(self, lr: float) -> None:
        for g in self.groups:
            g.set_lr(lr)

    def step(self, global_batch: np.ndarray, step_seed: int) -> float:
        """Returns the global batch's loss."""
        ctx, o, device, examples, objective, scaler, V = self.ctx, self.o, self.device, self.examples, self.objective, self.scaler, self.V
        encoder, wrapped, groups, comm_device, joint_time = self.encoder, self.wrapped, self.groups, self.comm_device, self.joint_time
        torch.manual_seed(step_seed + 7919 * ctx.rank)
        micro = [examples.take(m) if len(m) else None for m in self.sampler.shard(global_batch)]
        encoded = [encoder.encode(m if m is not None else _empty_examples(examples.take(global_batch))) for m in micro]
        class_weights = objective.weight_tensor()
        local = torch.tensor([sum(objective.weight_sum(e["targets"], class_weights) for e in encoded),
                              sum(float((time_targets(e) != IGNORE).sum()) for e in encoded) if joint_time else 0.0],
                             dtype=torch.float64, device=comm_device)
        denom = ctx.all_reduce_sum(local)
        d_behavior = torch.clamp(denom[0], min=1e-8).float().to(device)
        d_time = torch.clamp(denom[1], min=1e-8).float().to(device)
        wrapped.train()
        step_loss = 0.0
        for i, e in enumerate(encoded):
            tensors = {k: torch.from_numpy(v).to(device) for k, v in e.items()}
            sync = ctx.distributed and i < len(encoded) - 1
            with (wrapped.no_sync() if sync else _Null()):
                with _autocast(device, o.amp):
                    logits, time_logits = wrapped(*(tensors[k] for k in ("behaviors", "weekdays", "slots", "locations", "target_weekdays", "target_slots", "target_locations")),
                                                  detach_time=o.time_head_detached)
                loss = objective.loss(logits, tensors["targets"], class_weights, d_behavior)
                if time_logits is not None:
                    tt = torch.from_numpy(time_targets(e)).to(device)
                    loss = loss + cross_entropy(time_logits, tt, d_time) * o.time_head_weight
                step_loss += float(loss.detach())
                scaler.scale(loss * ctx.world_size).backward()
        for g in groups:
            scaler.unscale_(g.optimizer)
            g.clip(1.0)
            scaler.step(g.optimizer)
        scaler.update()
        for g in groups:
            g.optimizer.zero_grad(set_to_none=True)
        pending = objective.pending_sums()
        packed = torch.zeros(1 + 2 * V, dtype=torch.float64)
        packed[0] = step_loss
        if pending is not None:
            packed[1 : 1 + V] = torch.from_numpy(pending[0])
            packed[1 + V :] = torch.from_numpy(pending[1])
        packed = ctx.all_reduce_sum(packed.to(comm_device)).cpu()
        objective.after_step((packed[1 : 1 + V].numpy(), packed[1 + V :].numpy()) if pending is not None else None)
        return float(packed[0])


def train_model(model: BehaveGPT, train: Sequences, valid: Sequences, behaviors: Vocabulary, locations: Vocabulary,
                o: TrainOptions, ctx: Context = Context(), on_progress: Optional[Callable[[Dict], None]] = None) -> TrainResult:
    """trainModel: trains in place and leaves the best epoch's weights in `model`."""
    if o.select_by not in SELECT_BY:
        raise ValueError(f'--select-by: "{o.select_by}" is not one of {", ".join(SELECT_BY)}')
    if o.amp == "fp16" and ctx.device.type != "cuda":
        raise ValueError("--amp fp16 needs a CUDA device")
    device = ctx.device
    model.to(device)
    rng = create_rng(o.seed)
    examples = to_examples(train, int(model.config["contextLength"]))
    steps_per_epoch = -(-len(examples) // o.batch_size)
    epochs = 0 if steps_per_epoch == 0 else max(o.epochs, -(-o.min_steps // steps_per_epoch))
    total_steps = steps_per_epoch * epochs
    stepper = Stepper(model, train, examples, behaviors, locations, o, ctx)
    groups, objective, sampler, scaler = stepper.groups, stepper.objective, stepper.sampler, stepper.scaler
    evaluate = lambda: evaluate_model(model, valid, behaviors, locations, device=device, rank=ctx.rank,  # noqa: E731
                                      world_size=ctx.world_size, gather=ctx.all_gather_object)

    state = {"epoch": 1, "batch": 0, "step": 0, "tokens": 0, "since_best": 0, "last_evaluated": 0, "best_epoch": 0,
             "history": [], "loss_sum": 0.0, "loss_count": 0, "epoch_rng": None, "elapsed": 0.0, "stopped_early": False}
    ckpt_path = os.path.join(o.checkpoint_dir, "checkpoint.pt") if o.checkpoint_dir else None
    if ckpt_path and os.path.exists(ckpt_path):
        ck = _load_checkpoint(ckpt_path)
        _restore(model, ck["model"])
        for g, s in zip(groups, ck["optimizers"]):
            g.optimizer.load_state_dict(s)
        scaler.load_state_dict(ck["scaler"])
        if objective.dro is not None:
            objective.dro.load_state_dict(ck["dro"])
        rng.state = ck["rng"]
        state.update(ck["state"])
        best, before, best_weights = ck["best"], ck["before"], ck["best_weights"]
        if ctx.main:
            print(f"resumed from {ckpt_path}: epoch {state['epoch']}, step {state['step']}", flush=True)
    else:
        before = evaluate() if o.evaluate else {"metrics": {}, "loss": math.nan}
        best, best_weights = before, _snapshot(model)

    def save_checkpoint() -> None:
        if not ckpt_path or not ctx.main:
            return
        os.makedirs(o.checkpoint_dir, exist_ok=True)
        ck = {"model": _snapshot(model), "optimizers": [g.optimizer.state_dict() for g in groups], "scaler": scaler.state_dict(),
              "dro": objective.dro.state_dict() if objective.dro is not None else None, "rng": rng.state,
              "state": {**state, "elapsed": state["elapsed"] + time.perf_counter() - start},
              "best": {k: v for k, v in best.items() if k != "targets"}, "before": {k: v for k, v in before.items() if k != "targets"},
              "best_weights": best_weights, "options": asdict(o)}
        torch.save(ck, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    start = time.perf_counter() - 0.0
    elapsed0 = state["elapsed"]
    last_print = 0.0
    epoch = state["epoch"]
    stop = False
    while epoch <= epochs and not stop:
        if state["batch"] == 0:
            state["epoch_rng"] = rng.state
            state["loss_sum"], state["loss_count"] = 0.0, 0
            sampler.set_epoch(rng)
        else:  # resuming inside an epoch: redraw its batches from the rng state at its start
            resume_rng = Mulberry32(0)
            resume_rng.state = state["epoch_rng"]
            sampler.set_epoch(resume_rng)
        for bi in range(state["batch"], len(sampler.batches)):
            global_batch = sampler.batches[bi]
            lr = cosine_schedule(state["step"], total_steps, o.warmup_steps, o.learning_rate)
            stepper.set_lr(lr)
            step_seed = math.floor(rng() * 2**31)
            loss_value = stepper.step(global_batch, step_seed)
            state["loss_sum"] += loss_value
            state["loss_count"] += 1
            state["step"] += 1
            state["batch"] = bi + 1
            state["tokens"] += len(global_batch) * int(examples.length[global_batch].max())
            seconds = elapsed0 + time.perf_counter() - start
            progress = {"kind": "step", "epoch": epoch, "step": state["step"], "totalSteps": total_steps, "loss": loss_value,
                        "stepsPerSecond": state["step"] / seconds, "tokensPerSecond": state["tokens"] / seconds,
                        "etaSeconds": (total_steps - state["step"]) * seconds / state["step"], "learningRate": lr}
            if on_progress and ctx.main:
                on_progress(progress)
            if o.checkpoint_every and state["step"] % o.checkpoint_every == 0 and state["batch"] < len(sampler.batches):
                save_checkpoint()
            if o.max_steps is not None and state["step"] >= o.max_steps:
                stop = True
                break
        if stop:
            break
        state["batch"] = 0
        if not o.evaluate or (epoch < epochs and state["step"] - state["last_evaluated"] < o.evaluate_every):
            state["epoch"] = epoch = epoch + 1
            save_checkpoint()
            continue
        state["last_evaluated"] = state["step"]
        result = evaluate()
        replaces_start = state["best_epoch"] == 0
        improved = len(valid) == 0 or replaces_start or _score(result, o.select_by) > _score(best, o.select_by)
        train_loss = state["loss_sum"] / max(1, state["loss_count"])
        state["history"].append({"epoch": epoch, "trainLoss": train_loss, "validLoss": result["loss"], "valid": result["metrics"]})
        if improved:
            best, state["best_epoch"], best_weights, state["since_best"] = result, epoch, _snapshot(model), 0
        else:
            state["since_best"] += 1
        if on_progress and ctx.main:
            seconds = elapsed0 + time.perf_counter() - start
            on_progress({"kind": "epoch", "epoch": epoch, "step": state["step"], "totalSteps": total_steps, "loss": train_loss,
                         "stepsPerSecond": state["step"] / seconds, "tokensPerSecond": state["tokens"] / seconds,
                         "etaSeconds": (total_steps - state["step"]) * seconds / max(1, state["step"]), "valid": result, "improved": improved})
        state["epoch"] = epoch = epoch + 1
        if state["since_best"] >= o.patience:
            state["stopped_early"] = True
            stop = True
        save_checkpoint()
    if o.evaluate:
        _restore(model, best_weights)
    return TrainResult(best_epoch=state["best_epoch"], epochs_run=min(epoch - 1, epochs) if not o.max_steps else epoch, steps=state["step"],
                       seconds=elapsed0 + time.perf_counter() - start, best=best, history=state["history"],
                       stopped_early=state["stopped_early"], tokens=state["tokens"])
