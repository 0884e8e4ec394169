"""Windows and batches (src/core/batch.ts): the integer arrays the model consumes.

Token layout of one example (T tokens): token 0 is <bos>, token t >= 1 is event t-1; the
target at token t is event t, whose weekday/slot/location the head also sees.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from .data import NUM_SLOTS, NUM_WEEKDAYS, EventLog, Sequences
from .rng import Rng, shuffle
from .vocab import BOS, PAD, Vocabulary

UNKNOWN_WEEKDAY = NUM_WEEKDAYS
UNKNOWN_SLOT = NUM_SLOTS
IGNORE = -1
SLOTS_PER_WEEK = NUM_WEEKDAYS * NUM_SLOTS
NUM_SLOT_DELTAS = SLOTS_PER_WEEK
BATCH_FIELDS = ("behaviors", "weekdays", "slots", "locations", "target_weekdays", "target_slots", "target_locations", "targets")


@dataclass
class Examples:
    """toExamples' windows, column-wise: event range [start, start + length) of the log, targets
    at token index < first are ignored, `seq` is the sequence index, `offset` its position."""

    start: np.ndarray
    length: np.ndarray
    first: np.ndarray
    seq: np.ndarray
    offset: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def take(self, idx) -> "Examples":
        idx = np.asarray(idx, dtype=np.int64)
        return Examples(self.start[idx], self.length[idx], self.first[idx], self.seq[idx], self.offset[idx])


def to_examples(seqs: Sequences, context_length: int, stride: Optional[int] = None) -> Examples:
    """Windows of at most `context_length` events; every event is a target in exactly one."""
    if stride is None:
        stride = -(-context_length // 2)
    out: List[tuple] = []
    for s, n, q in zip(seqs.starts.tolist(), seqs.lengths.tolist(), seqs.index.tolist()):
        if n == 0:
            continue
        if n <= context_length:
            out.append((s, n, 0, q, 0))
            continue
        out.append((s, context_length, 0, q, 0))
        covered = context_length
        while covered < n:
            end = min(n, covered + stride)
            start = end - context_length
            out.append((s + start, context_length, covered - start, q, start))
            covered = end
    cols = np.array(out, dtype=np.int64).reshape(-1, 5)
    return Examples(*(cols[:, i].copy() for i in range(5)))


class Encoder:
    """A log's events as vocabulary ids (computed once per log and vocabulary pair)."""

    def __init__(self, log: EventLog, behaviors: Vocabulary, locations: Vocabulary) -> None:
        self.log, self.behaviors, self.locations = log, behaviors, locations
        self.behavior_ids = np.array([behaviors.id(n) for n in log.names], dtype=np.int64)[log.behavior] if log.names else np.zeros(0, np.int64)
        location_map = np.array([locations.lookup(n) for n in log.location_names], dtype=np.int64)
        self.location_ids = location_map[log.location] if len(location_map) else np.zeros(0, np.int64)
        self.special = np.array([behaviors.is_special(i) for i in range(behaviors.size)], dtype=bool)
        self.pad, self.bos = behaviors.id(PAD), behaviors.id(BOS)

    def encode(self, ex: Examples, length: Optional[int] = None) -> Dict[str, np.ndarray]:
        """encodeBatch: int64 arrays [B, T] (flat row-major order equals the TS Batch's)."""
        B = len(ex)
        T = int(length if length is not None else max(1, int(ex.length.max()) if B else 1))
        if B and int(ex.length.max()) > T:
            raise ValueError(f"encodeBatch: example of {int(ex.length.max())} events exceeds length {T}")
        t = np.arange(T)[None, :]
        present = t < ex.length[:, None]
        idx = np.where(present, ex.start[:, None] + t, 0)
        bid = self.behavior_ids[idx] if len(self.behavior_ids) else np.zeros_like(idx)
        lid = self.location_ids[idx] if len(self.location_ids) else np.zeros_like(idx)
        if np.any(lid[present] < 0):
            bad = self.log.location_names[self.log.location[idx[present][np.argmax(lid[present] < 0)]]]
            raise KeyError(f'vocabulary: unknown token "{bad}"')
        wd = self.log.weekday[idx]
        sl = self.log.slot[idx]
        out = {
            "behaviors": np.full((B, T), self.pad, np.int64),
            "weekdays": np.full((B, T), UNKNOWN_WEEKDAY, np.int64),
            "slots": np.full((B, T), UNKNOWN_SLOT, np.int64),
            "locations": np.zeros((B, T), np.int64),
        }
        out["behaviors"][:, 0] = self.bos
        shifted = present[:, : T - 1]
        for key, values in (("behaviors", bid), ("weekdays", wd), ("slots", sl), ("locations", lid)):
            out[key][:, 1:] = np.where(shifted, values[:, : T - 1], out[key][:, 1:])
        out["target_weekdays"] = np.where(present, wd, UNKNOWN_WEEKDAY).astype(np.int64)
        out["target_slots"] = np.where(present, sl, UNKNOWN_SLOT).astype(np.int64)
        out["target_locations"] = np.where(present, lid, 0).astype(np.int64)
        counted = present & (t >= ex.first[:, None]) & ~self.special[bid]
        out["targets"] = np.where(counted, bid, IGNORE).astype(np.int64)
        return out


def time_targets(batch: Dict[str, np.ndarray]) -> np.ndarray:
    """timeTargets: slot delta from the previous event to the target event, IGNORE elsewhere."""
    frm = batch["weekdays"] * NUM_SLOTS + batch["slots"]
    to = batch["target_weekdays"] * NUM_SLOTS + batch["target_slots"]
    delta = (to - frm) % SLOTS_PER_WEEK
    ok = (batch["targets"] != IGNORE) & (batch["weekdays"] != UNKNOWN_WEEKDAY) & (batch["target_weekdays"] != UNKNOWN_WEEKDAY)
    return np.where(ok, delta, IGNORE)


def bucket_batches(lengths: np.ndarray, batch_size: int, rng: Optional[Rng] = None) -> List[np.ndarray]:
    """bucketBatches over example lengths: shuffle, stable sort by length, chunk, shuffle the chunks."""
    order = list(range(len(lengths)))
    if rng is not None:
        shuffle(order, rng)
    order_arr = np.array(order, dtype=np.int64)
    order_arr = order_arr[np.argsort(lengths[order_arr], kind="stable")]
    batches = [order_arr[i : i + batch_size] for i in range(0, len(order_arr), batch_size)]
    if rng is not None:
        shuffle(batches, rng)
    return batches


def encode_query(history, nxt, behaviors: Vocabulary, locations: Vocabulary, context_length: int):
    """encodeQuery for tests: (weekday, slot, location) `nxt` after `history` events
    [(behavior, weekday, slot, location)]; returns (batch, position)."""
    kept = list(history[max(0, len(history) - (context_length - 1)) :])
    events = kept + [(PAD, *nxt)]
    log = EventLog("canonical", [], [], *(np.zeros(0, np.int32) for _ in range(4)), ["query"], [None], np.array([0, len(events)]))
    names: Dict[str, int] = {}
    locs: Dict[str, int] = {}
    log.behavior = np.array([names.setdefault(e[0], len(names)) for e in events], np.int32)
    log.location = np.array([locs.setdefault(e[3], len(locs)) for e in events], np.int32)
    log.weekday = np.array([e[1] for e in events], np.int32)
    log.slot = np.array([e[2] for e in events], np.int32)
    log.names, log.location_names = list(names), list(locs)
    ex = Examples(*(np.array([v]) for v in (0, len(events), len(events), 0, 0)))
    return Encoder(log, behaviors, locations).encode(ex, len(events)), len(kept)
