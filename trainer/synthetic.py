"""A synthetic behavior corpus sampled from a model's generator, for throughput measurements
only (never for accuracy figures): each sequence starts at a uniform random weekday and slot,
then the time head draws when the next event happens and the behavior head what it is at that
time (generate.ts's order), with the model file's sampling correction, temperature 1. Batched
on PyTorch with a key/value cache that refills the last half of the context when it is full
(generate.ts's cached stepper); written as an .npz log (trainer.data.save_npz) with a 98/1/1 train/valid/test split.

  /usr/bin/python3 -m trainer.synthetic --model public/models/behavegpt-us --events 10000000 --out runs/synthetic-10m.npz
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from .batch import UNKNOWN_SLOT, UNKNOWN_WEEKDAY
from .data import NUM_SLOTS, UNKNOWN_LOCATION, EventLog, save_npz
from .vocab import BOS
from .weights import load_model_dir


class CachedDecoder:
    """Batched incremental decoding with a key/value cache (model/cpu-decoder.ts's idea): one
    position per event; when the context is full the caller refills it with the last half."""

    def __init__(self, model, batch: int) -> None:
        self.model, self.B = model, batch
        c = model.config
        self.d = int(c["behaviorDim"]) + (int(c["weekdayDim"]) + int(c["slotDim"]) + int(c["locationDim"]) if c["useContext"] else 0)
        self.H = int(c["numHeads"])
        self.reset()

    def reset(self) -> None:
        self.keys = [[] for _ in range(int(self.model.config["numLayers"]))]
        self.values = [[] for _ in range(int(self.model.config["numLayers"]))]
        self.length = 0

    def push(self, b: torch.Tensor, w: torch.Tensor, s: torch.Tensor, loc: torch.Tensor) -> torch.Tensor:
        """Appends one token per sequence; returns the final hidden state at it [B, d]."""
        from .model import gelu, layer_norm

        m, c, B, d, H = self.model, self.model.config, self.B, self.d, self.H
        dh = d // H
        streams = [m.p("embed.behavior")[b]]
        if c["useContext"]:
            streams += [m.p("embed.weekday")[w], m.p("embed.slot")[s]]
            if int(c["locationDim"]) > 0:
                streams.append(m.p("embed.location")[loc])
        x = torch.cat(streams, -1) + m.p("embed.position")[self.length]
        for layer in range(int(c["numLayers"])):
            p = f"block{layer}."
            h = layer_norm(x, m.p(p + "ln1.gamma"), m.p(p + "ln1.beta"))
            q, k, v = (h @ m.p(p + "attn.qkv.w") + m.p(p + "attn.qkv.b")).split(d, -1)
            self.keys[layer].append(k.reshape(B, H, dh))
            self.values[layer].append(v.reshape(B, H, dh))
            K = torch.stack(self.keys[layer], 2)  # [B, H, t, dh]
            V = torch.stack(self.values[layer], 2)
            att = torch.softmax((q.reshape(B, H, 1, dh) @ K.transpose(-1, -2)) * (1 / math.sqrt(dh)), -1)
            x = x + (att @ V).reshape(B, d) @ m.p(p + "attn.out.w") + m.p(p + "attn.out.b")
            h2 = layer_norm(x, m.p(p + "ln2.gamma"), m.p(p + "ln2.beta"))
            x = x + gelu(h2 @ m.p(p + "mlp.fc.w") + m.p(p + "mlp.fc.b")) @ m.p(p + "mlp.proj.w") + m.p(p + "mlp.proj.b")
        self.length += 1
        return layer_norm(x, m.p("lnf.gamma"), m.p("lnf.beta"))


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
    loc_id = locations.id(UNKNOWN_LOCATION)
    bos = behaviors.id(BOS)
    out_b = np.zeros((sequences, length), np.int64)
    out_w = np.zeros((sequences, length), np.int64)
    out_s = np.zeros((sequences, length), np.int64)
    t0 = time.perf_counter()
    for lo in range(0, sequences, batch):
        B = min(batch, sequences - lo)
        dec = CachedDecoder(model, B)
        loc = torch.full((B,), loc_id, dtype=torch.long)

        def refill(upto: int, keep: int) -> torch.Tensor:
            dec.reset()
            x = dec.push(torch.full((B,), bos), torch.full((B,), UNKNOWN_WEEKDAY), torch.full((B,), UNKNOWN_SLOT), loc)
            for j in range(max(0, upto - keep), upto):
                x = dec.push(*(torch.from_numpy(a[lo : lo + B, j]) for a in (out_b, out_w, out_s)), loc)
            return x

        x = refill(0, 0)
        week_slot = torch.randint(0, 7 * NUM_SLOTS, (B,), generator=g)
        for t in range(length):
            if t > 0:
                delta = torch.multinomial(torch.softmax(model.time_head(x), -1), 1, generator=g).squeeze(1)
                week_slot = (week_slot + delta) % (7 * NUM_SLOTS)
            w, s = week_slot // NUM_SLOTS, week_slot % NUM_SLOTS
            probs = torch.softmax(model.behavior_head(x, w, s, loc), -1) * factor
            b = torch.multinomial(probs, 1, generator=g).squeeze(1)
            out_b[lo : lo + B, t], out_w[lo : lo + B, t], out_s[lo : lo + B, t] = b.numpy(), w.numpy(), s.numpy()
            x = refill(t + 1, ctx // 2) if dec.length >= ctx else dec.push(b, w, s, loc)
        done = lo + B
        log(f"  {done * length:,} events, {done * length / (time.perf_counter() - t0):,.0f} events/s", flush=True)
    splits = ["test" if i % 100 == 0 else "valid" if i % 100 == 1 else "train" for i in range(sequences)]
    return EventLog(format="canonical", names=list(behaviors.tokens), location_names=[UNKNOWN_LOCATION], behavior=out_b.reshape(-1).astype(np.int32),
                    weekday=out_w.reshape(-1).astype(np.int32), slot=out_s.reshape(-1).astype(np.int32), location=np.zeros(sequences * length, np.int32),
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
