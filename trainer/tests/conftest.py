"""Shared helpers: the TypeScript twin (test/torch-twin.ts via tsx), small generated logs."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from typing import List

import pytest

from trainer.twin import twin  # noqa: F401  (re-exported for the tests)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(ROOT, "public", "models", "behavegpt-us")
SHIPPED_FP32 = os.path.join(ROOT, "models", "behavegpt-us-fp32")
PYTHON = sys.executable


def shipped_names() -> List[str]:
    with open(os.path.join(SHIPPED, "model.json")) as f:
        return [t for t in json.load(f)["vocabulary"]["behaviors"]["tokens"] if not t.startswith("<")]


def write_canonical(path: str, names: List[str], sequences: int = 12, seed: int = 5, max_len: int = 60, splits: bool = False,
                    locations: List[str] = ()) -> str:
    """A canonical CSV over `names` (long sequences, so windows slide), optionally with split and location columns."""
    r = random.Random(seed)
    header = "sequence_id,step,weekday,time_slot,behavior" + (",split" if splits else "") + (",location" if locations else "")
    lines = [header]
    for s in range(sequences):
        n = r.randint(3, max_len)
        split = ("train", "train", "train", "valid", "test")[s % 5]
        for t in range(n):
            name = r.choice(names[:40] if r.random() < 0.8 else names)
            if "," in name or '"' in name:
                name = '"' + name.replace('"', '""') + '"'
            row = f"q{s},{t},{r.randint(0, 6)},{r.randint(0, 7)},{name}"
            if splits:
                row += f",{split}"
            if locations:
                row += f",{r.choice(list(locations))}"
            lines.append(row)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def shipped_vocab_log(tmp_path_factory) -> str:
    """~400 events over the shipped model's behaviors (parity of its logits)."""
    return write_canonical(str(tmp_path_factory.mktemp("logs") / "shipped-vocab.csv"), shipped_names(), sequences=12)


def run_pretrain(args: List[str], timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": ROOT}
    out = subprocess.run([PYTHON, "-m", "trainer.pretrain", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"trainer.pretrain {' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    return out
