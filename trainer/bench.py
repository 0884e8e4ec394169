"""Training throughput, measured side by side.

  # Node-wasm (src/cli/bench.ts's training loop) vs PyTorch 1 and 2 processes: the shipped
  # model, the same 60 US train batches of 64, CE; rounds interleave the engines, ratios per round.
  /usr/bin/python3 -m trainer.bench throughput --rounds 5

  # Tokens/s and peak memory against model size and process count on a large (synthetic) corpus.
  /usr/bin/python3 -m trainer.synthetic --events 10000000 --out runs/synthetic-10m.npz
  /usr/bin/python3 -m trainer.bench scale --file runs/synthetic-10m.npz --sizes xs,s,m-,m --nproc 1,2
  /usr/bin/python3 -m trainer.bench scale --file runs/synthetic-10m.npz --sizes xs,s,m-,m --nproc 1 --device cuda --batch 1024   # on a GPU

Tokens are counted as the TS bench counts them: batch size × padded length of each global batch.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker(a) -> None:
    """One process of a timed PyTorch run (under the spawn launcher when --nproc > 1)."""
    from . import distributed
    from .batch import bucket_batches, to_examples
    from .data import load_region, read_log_file, split_sequences
    from .model import BehaveGPT
    from .recipe import build_config, build_vocabularies, size_overrides
    from .rng import create_rng
    from .train import Stepper, TrainOptions
    from .weights import load_model_dir

    device = distributed.pick_device(int(os.environ.get("LOCAL_RANK", "0")), a.device)
    torch.set_num_threads(a.threads)
    ctx = distributed.init_process_group(device)
    log = read_log_file(a.file, max_bytes=2**40) if a.file else load_region("us")
    train = split_sequences(log, "train")
    if a.model:
        model, behaviors, locations, _ = load_model_dir(a.model)
    else:
        behaviors, locations = build_vocabularies(train)
        model = BehaveGPT(build_config(behaviors, locations, {**size_overrides(a.size), "timeHead": True}), seed=0)
    model.to(device)
    examples = to_examples(train, int(model.config["contextLength"]))
    o = TrainOptions(batch_size=a.batch, learning_rate=1e-4, objective={"name": a.objective}, amp=a.amp)
    stepper = Stepper(model, train, examples, behaviors, locations, o, ctx)
    # "same batches" mode: the TS bench's 60 length-sorted batches (its rng always returns 0.5); else a seeded shuffle.
    batches = bucket_batches(examples.length, a.batch, (lambda: 0.5) if a.model else create_rng(0))[: a.batches]
    stepper.set_lr(1e-4)
    rates: List[float] = []
    b = 0
    for r in range(a.rounds + 1):
        ctx.barrier()
        if device.type == "cuda":
            torch.cuda.synchronize()
        tokens, t0 = 0, time.perf_counter()
        for s in range(a.steps):
            g = batches[b % len(batches)]
            b += 1
            stepper.step(g, s)
            tokens += len(g) * int(examples.length[g].max())
        if device.type == "cuda":
            torch.cuda.synchronize()
        if r > 0:  # round 0 warms up
            rates.append(tokens / (time.perf_counter() - t0))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    peaks = ctx.all_gather_object((peak, gpu))
    if ctx.main:
        print("RESULT " + json.dumps({"tokensPerSecond": rates, "peakRssMB": [p for p, _ in peaks], "peakGpuMB": [g for _, g in peaks],
                                      "parameters": model.parameter_count, "device": str(device), "processes": ctx.world_size,
                                      "threads": a.threads}), flush=True)
    distributed.shutdown()


def run_worker(args: List[str], timeout_s: float = 300) -> Dict:
    """Runs one timed worker in its own process group. A worker that outlives `timeout_s` is killed with
    its spawned processes (a 2-process gloo run was seen with one process gone and the other spinning);
    a result it printed before that still counts."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    proc = subprocess.Popen([sys.executable, "-m", "trainer.bench", "worker", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        hung = True
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            if hung:
                print(f"bench worker {' '.join(args)}: printed its result, then hung at exit; killed after {timeout_s:.0f} s", flush=True)
            return json.loads(line[7:])
    if hung:
        raise RuntimeError(f"bench worker {' '.join(args)} hung (killed after {timeout_s:.0f} s) without a result:\n{stderr[-3000:]}")
    raise RuntimeError(f"bench worker {' '.join(args)} failed:\n{stderr[-3000:]}")


def run_node(model: str, steps: int) -> Dict:
    tsx = os.path.join(ROOT, "node_modules", ".bin", "tsx")
    out = subprocess.run([tsx, "test/torch-twin.ts", "train-steps", "--model", model, "--steps", str(steps), "--rounds", "1"],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"Node train-steps failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def throughput(a) -> None:
    engines = {
        "Node wasm (1 thread)": lambda: run_node(a.model, a.steps),
        "PyTorch 1 process, 1 thread": lambda: run_worker(["--model", a.model, "--steps", str(a.steps), "--rounds", "1", "--threads", "1"]),
        "PyTorch 1 process, 2 threads": lambda: run_worker(["--model", a.model, "--steps", str(a.steps), "--rounds", "1", "--threads", "2"]),
        "PyTorch 2 processes (gloo), 1 thread each": lambda: run_worker(["--model", a.model, "--steps", str(a.steps), "--rounds", "1", "--threads", "1", "--nproc", "2"]),
    }
    names = list(engines)
    rates: Dict[str, List[float]] = {n: [] for n in names}
    memory: Dict[str, List[float]] = {n: [] for n in names}
    print(f"{a.rounds} rounds of {a.steps} steps (batch 64, US train, {a.model}, CE) per engine, order rotated each round; load average at start {load()}")
    for r in range(a.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for n in order:
            result = engines[n]()
            rates[n].append(result["tokensPerSecond"][0])
            memory[n].append(result["rssMB"] if "rssMB" in result else max(result["peakRssMB"]))
        print(f"round {r + 1}: " + ", ".join(f"{n}: {rates[n][-1]:,.0f}" for n in names) + f" tokens/s (load {load()})", flush=True)
    base = names[0]
    print("\n| engine | median tokens/s | min – max | × Node wasm (median of per-round ratios, min – max) | memory per process (MB) |\n|---|---|---|---|---|")
    for n in names:
        ratios = [x / y for x, y in zip(rates[n], rates[base])]
        print(f"| {n} | {statistics.median(rates[n]):,.0f} | {min(rates[n]):,.0f} – {max(rates[n]):,.0f} | "
              f"{statistics.median(ratios):.2f} ({min(ratios):.2f} – {max(ratios):.2f}) | {statistics.median(memory[n]):,.0f} |")
    print("memory: Node's resident set at the end of its run; PyTorch's peak resident set (the larger of the two processes).")
    two, one = names[3], names[1]
    scaling = [x / y for x, y in zip(rates[two], rates[one])]
    print(f"\n2 processes / 1 process (1 thread each): {statistics.median(scaling):.2f} ({min(scaling):.2f} – {max(scaling):.2f}); load average at end {load()}")


def scale(a) -> None:
    print(f"{a.file}: tokens/s and peak memory per process, batch {a.batch}, {a.steps} timed steps × {a.rounds} rounds after a warm-up round, "
          f"{a.device}; load average at start {load()}")
    print("\n| size | parameters | processes | threads each | median tokens/s | per-process peak RSS (MB) | GPU peak (MB) |\n|---|---|---|---|---|---|---|")
    for size in a.sizes.split(","):
        for n in [int(x) for x in a.nproc.split(",")]:
            threads = a.threads or max(1, (os.cpu_count() or 1) // n)
            r = run_worker(["--file", a.file, "--size", size, "--nproc", str(n), "--threads", str(threads), "--steps", str(a.steps),
                            "--rounds", str(a.rounds), "--batch", str(a.batch), "--batches", "100000", "--device", a.device,
                            *(["--amp", a.amp] if a.amp else [])])
            gpu = ", ".join(f"{g:.0f}" for g in r["peakGpuMB"]) if r["peakGpuMB"][0] is not None else "–"
            print(f"| {size} | {r['parameters']:,} | {n} | {threads} | {statistics.median(r['tokensPerSecond']):,.0f} | "
                  f"{', '.join(f'{p:.0f}' for p in r['peakRssMB'])} | {gpu} |", flush=True)
    print(f"\nload average at end {load()}")


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(prog="python3 -m trainer.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("throughput", help="Node wasm vs PyTorch 1 and 2 processes, interleaved")
    t.add_argument("--model", default="public/models/behavegpt-us")
    t.add_argument("--rounds", type=int, default=5)
    t.add_argument("--steps", type=int, default=15)
    s = sub.add_parser("scale", help="tokens/s and memory vs model size and process count")
    s.add_argument("--file", required=True)
    s.add_argument("--sizes", default="xs,s,m-,m")
    s.add_argument("--nproc", default="1,2")
    s.add_argument("--threads", type=int)
    s.add_argument("--steps", type=int, default=30)
    s.add_argument("--rounds", type=int, default=2)
    s.add_argument("--batch", type=int, default=64)
    s.add_argument("--device", default="cpu")
    s.add_argument("--amp", choices=["bf16", "fp16"])
    w = sub.add_parser("worker")
    for flag, kind, default in (("--model", str, None), ("--file", str, None), ("--size", str, "s"), ("--nproc", int, 1), ("--threads", int, 1),
                                ("--steps", int, 15), ("--rounds", int, 3), ("--batch", int, 64), ("--batches", int, 60), ("--objective", str, "ce"),
                                ("--device", str, "cpu"), ("--amp", str, None)):
        w.add_argument(flag, type=kind, default=default)
    a = p.parse_args(argv)
    if a.command == "throughput":
        throughput(a)
    elif a.command == "scale":
        scale(a)
    elif a.nproc > 1:
        from . import distributed

        distributed.spawn(worker, a.nproc, (a,))
    else:
        worker(a)


if __name__ == "__main__":
    main()
