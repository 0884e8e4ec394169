"""A synthetic behavior corpus sampled from a model's generator, for throughput measurements
only (never for accuracy figures): each sequence starts at a uniform random weekday and slot,
then the time head draws when the next event happens and the behavior head what it is at that
time (generate.ts's order), with the model file's sampling correction, temperature 1. Batched
on PyTorch; written as an .npz log (trainer.data.save_npz) with a 98/1/1 train/valid/test split.

  /usr/bin/python3 -m trainer.synthetic --model public/models/behavegpt-us --events 10000000 --out runs/synthetic-10m.npz
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from .batch import NUM_SLOT_DELTAS, UNKNOWN_SLOT, UNKNOWN_WEEKDAY
from .data import NUM_SLOTS, UNKNOWN_LOCATION, EventLog, save_npz
from .vocab import BOS
from .weights import load_model_dir


@torch.no_grad()
def generate(folder: str, sequences: int, length: int, seed: int = 0, batch: int = 4096, log=print) -> EventLog:
    model, behaviors, locations, manifest = load_model_dir(folder)
    model.eval()
    if not model.config.get("timeHead"):
        raise ValueError(f"{folder}: the model has no time head, so it cannot generate")
    g = torch.Generator().manual_seed(seed)
    correction = (manifest["training"].get("generation") or {}).get("behaviorLogCorrection") or {}
    factor = torch.tensor([math.exp(correction.get(n, 0.0)) for n in behaviors.tokens])
    ctx = int(model.config["contextLength"])
    loc = locations.id(UNKNOWN_LOCATION)
    bos = behaviors.id(BOS)
    out_b = np.zeros((sequences, length), np.int32)
    out_w = np.zeros((sequences, length), np.int32)
    out_s = np.zeros((sequences, length), np.int32)
    t0 = time.perf_counter()
    for lo in range(0, sequences, batch):
        B = min(batch, sequences - lo)
        beh = torch.zeros(B, 0, dtype=torch.long)
        wd = torch.zeros(B, 0, dtype=torch.long)
        sl = torch.zeros(B, 0, dtype=torch.long)
        week_slot = torch.randint(0, 7 * NUM_SLOTS, (B,), generator=g)
        for t in range(length):
            keep = ctx - 1
            hb, hw, hs = beh[:, -keep:], wd[:, -keep:], sl[:, -keep:]
            tokens_b = torch.cat([torch.full((B, 1), bos), hb], 1)
            tokens_w = torch.cat([torch.full((B, 1), UNKNOWN_WEEKDAY), hw], 1)
            tokens_s = torch.cat([torch.full((B, 1), UNKNOWN_SLOT), hs], 1)
            x = model.hidden(tokens_b, tokens_w, tokens_s, torch.full_like(tokens_b, loc))[:, -1]
            if t > 0:
                delta = torch.multinomial(torch.softmax(model.time_head(x), -1), 1, generator=g).squeeze(1)
                week_slot = (week_slot + delta) % (7 * NUM_SLOTS)
            w, s = week_slot // NUM_SLOTS, week_slot % NUM_SLOTS
            probs = torch.softmax(model.behavior_head(x, w, s, torch.full_like(w, loc)), -1) * factor
            b = torch.multinomial(probs, 1, generator=g).squeeze(1)
            beh, wd, sl = torch.cat([beh, b[:, None]], 1), torch.cat([wd, w[:, None]], 1), torch.cat([sl, s[:, None]], 1)
        out_b[lo : lo + B], out_w[lo : lo + B], out_s[lo : lo + B] = beh.numpy(), wd.numpy(), sl.numpy()
        done = lo + B
        log(f"  {done * length:,} events, {done * length / (time.perf_counter() - t0):,.0f} events/s")
    splits = ["test" if i % 100 == 0 else "valid" if i % 100 == 1 else "train" for i in range(sequences)]
    return EventLog(format="canonical", names=list(behaviors.tokens), location_names=[UNKNOWN_LOCATION], behavior=out_b.reshape(-1),
                    weekday=out_w.reshape(-1), slot=out_s.reshape(-1), location=np.zeros(sequences * length, np.int32),
                    seq_ids=[f"syn{i}" for i in range(sequences)], seq_splits=splits,
                    offsets=np.arange(0, sequences * length + 1, length, dtype=np.int64))


def main() -> None:
    p = argparse.ArgumentParser(prog="python3 -m trainer.synthetic", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="public/models/behavegpt-us")
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--length", type=int, default=64, help="events per sequence (windows slide past the context)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int)
    p.add_argument("--out", required=True, help="the .npz log to write")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    sequences = -(-a.events // a.length)
    t0 = time.perf_counter()
    log = generate(a.model, sequences, a.length, a.seed)
    save_npz(log, a.out)
    print(f"wrote {a.out}: {log.events:,} synthetic events in {sequences:,} sequences of {a.length} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
