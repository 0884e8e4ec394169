"""Model folders (src/model/weights.ts, src/node/model-files.ts): model.json in the TensorFlow.js
weights-manifest convention plus binary shards, with config, vocabularies and training metadata,
float32 or 8-bit affine quantized (vectors per tensor, matrices per row with `:rowMin` and
`:rowScale` float32 vectors). Byte for byte what serializeModel writes; each manifest group also
records `byteLengths` and `sha256` of its shards (ignored by loaders that do not check them).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import numpy as np

from .model import BehaveGPT, parameter_specs
from .vocab import Vocabulary

FORMAT = "behavegpt-weights"
FORMAT_VERSION = 1
ROW_MIN = ":rowMin"
ROW_SCALE = ":rowScale"
SHARD_BYTES = 4 * 1024 * 1024
_SHARD = re.compile(r"^weights-shard\d+of\d+\.bin$")


def quantize_uint8(values: np.ndarray) -> Tuple[np.ndarray, Dict[str, object]]:
    """quantizeUint8: codes and {dtype, min, scale} with min/scale rounded to float32."""
    v = np.asarray(values, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(v)):
        raise ValueError("quantize: non-finite weight")
    lo = float(v.min()) if v.size else 0.0
    hi = float(v.max()) if v.size else 0.0
    scale = (hi - lo) / 255 if hi > lo else 1.0
    lo32 = float(np.float32(lo))
    scale32 = float(np.float32(scale))
    codes = np.floor((v.astype(np.float64) - lo32) / scale32 + 0.5)  # Math.round
    return np.clip(codes, 0, 255).astype(np.uint8), {"dtype": "uint8", "min": lo32, "scale": scale32}


def serialize(model_values: "OrderedDict[str, np.ndarray]", config: dict, behaviors: Vocabulary, locations: Vocabulary, name: str,
              training: dict, dtype: str = "uint8", shard_bytes: int = SHARD_BYTES, prefix: str = "weights") -> Tuple[dict, List[bytes]]:
    """serializeModel: (manifest, shards)."""
    if dtype not in ("uint8", "float32"):
        raise ValueError(f'dtype: "{dtype}" is not uint8 or float32')
    entries: List[dict] = []
    chunks: List[bytes] = []
    for pname in parameter_specs(config):
        values = np.asarray(model_values[pname], dtype=np.float32)
        shape = [int(s) for s in values.shape]
        if dtype == "uint8" and values.ndim == 2:
            rows = shape[0]
            codes = np.zeros(values.shape, np.uint8)
            row_min = np.zeros(rows, np.float32)
            row_scale = np.zeros(rows, np.float32)
            for r in range(rows):
                codes[r], q = quantize_uint8(values[r])
                row_min[r], row_scale[r] = q["min"], q["scale"]
            entries.append({"name": pname, "shape": shape, "dtype": "float32", "quantization": {"dtype": "uint8", "min": 0, "scale": 1}})
            entries.append({"name": pname + ROW_MIN, "shape": [rows], "dtype": "float32"})
            entries.append({"name": pname + ROW_SCALE, "shape": [rows], "dtype": "float32"})
            chunks += [codes.tobytes(), row_min.astype("<f4").tobytes(), row_scale.astype("<f4").tobytes()]
        elif dtype == "uint8":
            codes, q = quantize_uint8(values)
            entries.append({"name": pname, "shape": shape, "dtype": "float32", "quantization": q})
            chunks.append(codes.tobytes())
        else:
            entries.append({"name": pname, "shape": shape, "dtype": "float32"})
            chunks.append(values.astype("<f4").tobytes())
    blob = b"".join(chunks)
    shards = [blob[i : i + shard_bytes] for i in range(0, len(blob), shard_bytes)] or [b""]
    paths = [f"{prefix}-shard{i + 1}of{len(shards)}.bin" for i in range(len(shards))]
    manifest = {
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "name": name,
        "config": config,
        "vocabulary": {"behaviors": behaviors.to_json(), "locations": locations.to_json()},
        "training": training,
        "weightsManifest": [{
            "paths": paths,
            "weights": entries,
            "byteLengths": [len(s) for s in shards],
            "sha256": [hashlib.sha256(s).hexdigest() for s in shards],
        }],
    }
    return manifest, shards


def _json_safe(x):
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON.stringify writes null for NaN and infinities
    return x


def save_model_dir(directory: str, model: BehaveGPT, behaviors: Vocabulary, locations: Vocabulary, name: str, training: dict,
                   dtype: str = "uint8") -> Tuple[str, int]:
    """saveModelDir: writes model.json and shards (old shards removed); returns (path, bytes)."""
    os.makedirs(directory, exist_ok=True)
    for f in os.listdir(directory):
        if f == "model.json" or _SHARD.match(f):
            os.remove(os.path.join(directory, f))
    manifest, shards = serialize(model.values(), model.config, behaviors, locations, name, _json_safe(training), dtype)
    for p, s in zip(manifest["weightsManifest"][0]["paths"], shards):
        with open(os.path.join(directory, p), "wb") as f:
            f.write(s)
    path = os.path.join(directory, "model.json")
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(json.dumps(manifest, indent=1, ensure_ascii=False, allow_nan=False) + "\n")
    os.replace(path + ".tmp", path)
    return path, sum(len(s) for s in shards)


def validate_manifest(data, file: str = "model.json") -> dict:
    """validateManifest: errors name the file and the field."""
    def fail(fld: str, problem: str):
        raise ValueError(f'{file}: field "{fld}": {problem}')

    if not isinstance(data, dict):
        fail("(root)", "not a JSON object")
    if data.get("format") != FORMAT:
        fail("format", f'expected "{FORMAT}", got {json.dumps(data.get("format"))}')
    if data.get("formatVersion") != FORMAT_VERSION:
        fail("formatVersion", f"expected {FORMAT_VERSION}, got {json.dumps(data.get('formatVersion'))}")
    config = data.get("config")
    if not isinstance(config, dict):
        fail("config", "missing")
    vocab = data.get("vocabulary") or {}
    for key in ("behaviors", "locations"):
        if not isinstance((vocab.get(key) or {}).get("tokens"), list):
            fail(f"vocabulary.{key}.tokens", "missing")
    groups = data.get("weightsManifest")
    if not isinstance(groups, list) or not groups:
        fail("weightsManifest", "missing or empty")
    if config.get("numBehaviors") != len(vocab["behaviors"]["tokens"]):
        fail("config.numBehaviors", f"{config.get('numBehaviors')} but the vocabulary has {len(vocab['behaviors']['tokens'])} behaviors")
    if config.get("numLocations") != len(vocab["locations"]["tokens"]):
        fail("config.numLocations", f"{config.get('numLocations')} but the vocabulary has {len(vocab['locations']['tokens'])} locations")
    names = {w["name"] for g in groups for w in g["weights"]}
    for n in parameter_specs(config):
        if n not in names:
            fail("weightsManifest", f'no weight "{n}"')
    return data


def decode_weights(manifest: dict, shards: List[bytes]) -> "OrderedDict[str, np.ndarray]":
    """modelFromArtifacts' decoding: float32 values per parameter (row-quantized matrices rebuilt
    in float32 as tfjs does: codes × rowScale + rowMin)."""
    entries = [w for g in manifest["weightsManifest"] for w in g["weights"]]
    expected = sum(int(np.prod(w["shape"])) * (1 if w.get("quantization") else 4) for w in entries)
    blob = b"".join(shards)
    if len(blob) != expected:
        raise ValueError(f"weights: shards hold {len(blob)} bytes, the manifest describes {expected}")
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    offset = 0
    for w in entries:
        n = int(np.prod(w["shape"]))
        q = w.get("quantization")
        if q:
            if q.get("dtype") != "uint8":
                raise ValueError(f'weights: "{w["name"]}" has quantization {q.get("dtype")}, only uint8 is read')
            codes = np.frombuffer(blob, np.uint8, n, offset)
            values = (codes.astype(np.float64) * float(q["scale"]) + float(q["min"])).astype(np.float32)
            offset += n
        else:
            values = np.frombuffer(blob, "<f4", n, offset).astype(np.float32)
            offset += 4 * n
        out[w["name"]] = values.reshape(w["shape"])
    for name in list(out):
        if name + ROW_SCALE in out and name + ROW_MIN in out:
            out[name] = (out[name] * out[name + ROW_SCALE][:, None]).astype(np.float32) + out[name + ROW_MIN][:, None]
    return out


def load_model_dir(path: str, check_integrity: bool = True):
    """loadModelDir: (model, behaviors, locations, manifest). Checks shard sizes and SHA-256
    where the manifest records them."""
    manifest_path = path if path.endswith(".json") else os.path.join(path, "model.json")
    with open(manifest_path, encoding="utf-8") as f:
        manifest = validate_manifest(json.load(f), manifest_path)
    shards: List[bytes] = []
    for g in manifest["weightsManifest"]:
        for i, p in enumerate(g["paths"]):
            with open(os.path.join(os.path.dirname(manifest_path), p), "rb") as f:
                data = f.read()
            if check_integrity and "byteLengths" in g and len(data) != g["byteLengths"][i]:
                raise ValueError(f"{manifest_path}: shard {p} has {len(data)} bytes, the manifest records {g['byteLengths'][i]}")
            if check_integrity and "sha256" in g and hashlib.sha256(data).hexdigest() != g["sha256"][i]:
                raise ValueError(f"{manifest_path}: shard {p} does not match its SHA-256 in the manifest")
            shards.append(data)
    values = decode_weights(manifest, shards)
    model = BehaveGPT(manifest["config"], values)
    return model, Vocabulary.from_json(manifest["vocabulary"]["behaviors"]), Vocabulary.from_json(manifest["vocabulary"]["locations"]), manifest
