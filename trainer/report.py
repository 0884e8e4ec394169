"""The PyTorch runs of the shipped recipe against the Node runs, evaluated by the same TS code.

Each PyTorch run's float32 folder is scored by test/torch-twin.ts `evaluate` (train/evaluate.ts
and core/evaluation.ts's fullMetrics, as the experiment runner scores its records); the Node
runs are their records in results/runs. Prints mean ± sample std over seeds per arm and the
difference in units of its standard error (|Δ| / sqrt(s1²/n1 + s2²/n2)).

  /usr/bin/python3 -m trainer.report
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import statistics
from typing import Dict, List

from .twin import twin

NODE = "results/runs/us-behavegpt-dro-tau0.1-radius0.03-tailMix0.02-behaviorDim24-headHidden48-locationDim0-numHeads2-numLayers1-slotDim4-targetDim8-weekdayDim4-s{seed}.json"
METRICS = ("loss", "weighted_recall@1", "weighted_recall@5", "macro_recall@1", "macro_recall@5", "head_recall@5", "tail_recall@5", "ndcg@10", "mrr")


def ts_evaluation(folder: str, cache: str) -> Dict:
    if os.path.exists(cache):
        with open(cache) as f:
            return json.load(f)
    result = twin("evaluate", "--model", folder, "--region", "us", "--split", "valid,test")
    with open(cache, "w") as f:
        json.dump(result, f, indent=1)
    return result


def mean_std(values: List[float]):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main() -> None:
    p = argparse.ArgumentParser(prog="python3 -m trainer.report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", default="runs/torch", help="the PyTorch runs' model folders")
    p.add_argument("--records", default="results/torch-runs", help="their records (and the TS evaluations, cached here)")
    a = p.parse_args()
    arms: Dict[str, List[Dict]] = {"Node (tfjs wasm)": [], "PyTorch, 1 process": [], "PyTorch, 2 processes": []}
    seconds: Dict[str, List[float]] = {k: [] for k in arms}
    for seed in range(3):
        with open(NODE.format(seed=seed)) as f:
            r = json.load(f)
        arms["Node (tfjs wasm)"].append({"valid": r["valid"], "test": {"loss": r["testLoss"], **r["test"]["all"]}, "steps": r["steps"], "bestEpoch": r["bestEpoch"]})
        seconds["Node (tfjs wasm)"].append(r["seconds"])
    for record in sorted(glob.glob(os.path.join(a.records, "us-dro-*-np*-s*.json"))):
        if record.endswith(".ts-eval.json"):
            continue
        name = os.path.basename(record)[: -len(".json")]
        with open(record) as f:
            r = json.load(f)
        ts = ts_evaluation(os.path.join(a.runs, f"{name}-fp32"), os.path.join(a.records, f"{name}.ts-eval.json"))
        arm = "PyTorch, 1 process" if "-np1-" in name else "PyTorch, 2 processes"
        arms[arm].append({"valid": ts["valid"], "test": ts["test"], "steps": r["training"]["steps"], "bestEpoch": r["training"]["bestEpoch"]})
        seconds[arm].append(r["training"]["seconds"])
    for split in ("valid", "test"):
        print(f"\n{split} (US, all targets; mean ± sample std over seeds; TS evaluation code)\n")
        print("| metric | " + " | ".join(f"{k} (n={len(v)})" for k, v in arms.items()) + " | Δ 1 process − Node (in SE) | Δ 2 processes − Node (in SE) |")
        print("|---|" + "---|" * (len(arms) + 2))
        for m in METRICS:
            cells, stats = [], []
            for runs in arms.values():
                values = [run[split][m] for run in runs if m in run[split]]
                if not values:
                    cells.append("–")
                    stats.append(None)
                    continue
                mu, sd = mean_std(values)
                cells.append(f"{mu:.4f} ± {sd:.4f}" if m == "loss" else f"{100 * mu:.2f} ± {100 * sd:.2f}")
                stats.append((mu, sd, len(values)))
            deltas = []
            for other in stats[1:]:
                base = stats[0]
                if other is None or base is None:
                    deltas.append("–")
                    continue
                se = math.sqrt(base[1] ** 2 / base[2] + other[1] ** 2 / other[2])
                d = other[0] - base[0]
                scale = 1 if m == "loss" else 100
                deltas.append(f"{scale * d:+.4f} ({abs(d) / se:.1f})" if se > 0 else f"{scale * d:+.4f}")
            print(f"| {m}{' (%)' if m != 'loss' else ''} | " + " | ".join(cells) + " | " + " | ".join(deltas) + " |")
    print("\n| arm | steps | best epoch | seconds (wall, shared machine) |\n|---|---|---|---|")
    for k, runs in arms.items():
        print(f"| {k} | {', '.join(str(r['steps']) for r in runs)} | {', '.join(str(r['bestEpoch']) for r in runs)} | {', '.join(str(s) for s in seconds[k])} |")


if __name__ == "__main__":
    main()
