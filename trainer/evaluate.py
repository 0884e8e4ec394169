"""Next-behavior evaluation with full ranking (src/train/evaluate.ts, src/core/metrics.ts):
every position t >= 1 of every sequence, all real behaviors ranked, ties against the target,
an unknown target behavior a miss. Data-parallel: each process ranks a share of the batches."""
from __future__ import annotations

import math
from typing import Dict, List, Tuple

import numpy as np
import torch

from .batch import IGNORE, NUM_SLOT_DELTAS, Encoder, bucket_batches, time_targets, to_examples
from .data import NUM_SLOTS, Sequences
from .vocab import Vocabulary, js_order

MISS = math.inf
RECALL_KS = (1, 5, 10)


def ranking_metrics(targets: List[Tuple[str, float]]) -> Dict[str, float]:
    """rankingMetrics over (behavior, rank) pairs."""
    out: Dict[str, float] = {"targets": len(targets)}
    if not targets:
        return out
    by: Dict[str, List[float]] = {}
    for b, r in targets:
        by.setdefault(b, []).append(r)
    n = len(targets)
    for k in RECALL_KS:
        out[f"weighted_recall@{k}"] = sum(1 for _, r in targets if r <= k) / n
        out[f"macro_recall@{k}"] = sum(sum(1 for r in rs if r <= k) / len(rs) for rs in by.values()) / len(by)
    out["ndcg@10"] = sum(1 / math.log2(r + 1) for _, r in targets if r <= 10) / n
    out["mrr"] = sum(1 / r for _, r in targets) / n
    return out


def head_behaviors(counts: Dict[str, int], share: float = 0.8) -> set:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], js_order(kv[0])))
    total = sum(c for _, c in ordered)
    head, acc = set(), 0
    for name, c in ordered:
        if acc >= share * total:
            break
        head.add(name)
        acc += c
    return head


def full_metrics(targets: List[Tuple[str, float]], head: set) -> Dict[str, float]:
    out = ranking_metrics(targets)
    for key, in_head in (("head_recall@5", True), ("tail_recall@5", False)):
        out[key] = ranking_metrics([t for t in targets if (t[0] in head) == in_head]).get("weighted_recall@5", math.nan)
    return out


@torch.no_grad()
def evaluate_model(model, seqs: Sequences, behaviors: Vocabulary, locations: Vocabulary, batch_size: int = 128,
                   device: torch.device = torch.device("cpu"), rank: int = 0, world_size: int = 1, gather=None) -> Dict:
    """evaluateModel: {metrics, loss, targets: [(behavior, rank)], time?}. With world_size > 1,
    batch i is ranked by process i % world_size and `gather` (all_gather_object) joins them."""
    was_training = model.training
    model.eval()
    ctx = int(model.config["contextLength"])
    examples = to_examples(seqs, ctx)
    enc = Encoder(seqs.log, behaviors, locations)
    candidates = torch.tensor([not behaviors.is_special(i) for i in range(behaviors.size)], device=device)
    known = np.array([behaviors.known_id(n) for n in seqs.log.names], dtype=np.int64)
    results: List[Tuple[int, str, float, float]] = []  # (order, behavior, rank, nll)
    time_acc = np.zeros(5)
    order = 0
    for bi, idx in enumerate(bucket_batches(examples.length, batch_size)):
        ex = examples.take(idx)
        mine = bi % world_size == rank
        if not mine:
            order += int((ex.length - np.maximum(ex.first, 0)).sum())
            continue
        batch = enc.encode(ex)
        tensors = {k: torch.from_numpy(v).to(device) for k, v in batch.items()}
        logits, time_logits = model.batch_forward(tensors)
        probs = torch.softmax(logits.float(), -1)
        B, T, V = probs.shape
        t = np.arange(T)[None, :]
        positions = ex.offset[:, None] + t
        counted = (t < ex.length[:, None]) & (t >= ex.first[:, None]) & (positions >= 1)
        event_idx = np.where(t < ex.length[:, None], ex.start[:, None] + t, 0)
        ids = known[seqs.log.behavior[event_idx]]
        flat = probs.reshape(-1, V)
        sel = np.nonzero(counted.reshape(-1))[0]
        target_ids = ids.reshape(-1)[sel]
        rows = flat[torch.from_numpy(sel).to(device)]
        safe = torch.from_numpy(np.maximum(target_ids, 0)).to(device)
        p_target = rows.gather(1, safe[:, None])
        # 1 + the other candidates scoring at least as high (the target is a candidate itself).
        ranks = ((rows >= p_target) & candidates[None, :]).sum(1).cpu().numpy().astype(np.float64)
        nll = (-torch.log(torch.clamp(p_target.squeeze(1).double(), min=1e-12))).cpu().numpy()
        names = seqs.log.names
        raw = seqs.log.behavior[event_idx].reshape(-1)[sel]
        # order of targets as evaluateModel pushes them: batch by batch, row by row, token by token.
        for j in range(len(sel)):
            tid = target_ids[j]
            results.append((order + j, names[raw[j]], ranks[j] if tid >= 0 else MISS, nll[j] if tid >= 0 else math.nan))
        order += int((ex.length - np.maximum(ex.first, 0)).sum())
        if time_logits is not None:
            _score_time(torch.softmax(time_logits.float(), -1).reshape(-1, NUM_SLOT_DELTAS).cpu().numpy(), batch, time_acc)
    if world_size > 1 and gather is not None:
        parts = gather((results, time_acc))
        results = sorted((r for part, _ in parts for r in part), key=lambda r: r[0])
        time_acc = sum(a for _, a in parts)
    if was_training:
        model.train()
    targets = [(b, r) for _, b, r, _ in results]
    nlls = [x for *_, x in results if not math.isnan(x)]
    out = {"metrics": ranking_metrics(targets), "loss": sum(nlls) / len(nlls) if nlls else math.nan, "targets": targets}
    if time_acc[3] > 0:
        hits, slot_hits, nll, count, same = time_acc
        out["time"] = {"accuracy": float(hits / count), "slotAccuracy": float(slot_hits / count), "loss": float(nll / count), "count": int(count),
                       "sameSlotShare": float(same / count)}
    return out


def _score_time(probs: np.ndarray, batch: Dict[str, np.ndarray], acc: np.ndarray) -> None:
    targets = time_targets(batch).reshape(-1)
    weekdays = batch["weekdays"].reshape(-1)
    slots = batch["slots"].reshape(-1)
    target_slots = batch["target_slots"].reshape(-1)
    for i in np.nonzero(targets != IGNORE)[0]:
        row = probs[i]
        delta = targets[i]
        best = int(np.argmax(row))
        start = weekdays[i] * NUM_SLOTS + slots[i]
        by_slot = np.zeros(NUM_SLOTS)
        np.add.at(by_slot, (start + np.arange(NUM_SLOT_DELTAS)) % NUM_SLOTS, row.astype(np.float64))
        acc += (best == delta, int(np.argmax(by_slot)) == target_slots[i], -math.log(max(float(row[delta]), 1e-12)), 1, delta == 0)
