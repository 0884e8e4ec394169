"""Runs the TypeScript side of a comparison (test/torch-twin.ts, through tsx) and returns its
JSON answer: the parity tests and trainer.report call the TS code this way."""
from __future__ import annotations

import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def twin(*args: str, timeout: int = 600):
    tsx = os.path.join(ROOT, "node_modules", ".bin", "tsx")
    if not os.path.exists(tsx):
        raise RuntimeError("node_modules is missing: run `npm ci` first (the TypeScript side is needed)")
    out = subprocess.run([tsx, os.path.join(ROOT, "test", "torch-twin.ts"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        # tfjs-wasm prints its whole minified source with an uncaught error: keep the readable lines.
        readable = "\n".join(line for line in out.stderr.splitlines() if len(line) < 400)
        raise RuntimeError(f"torch-twin.ts {' '.join(args)} failed:\n{readable[-3000:]}")
    return json.loads(out.stdout)
