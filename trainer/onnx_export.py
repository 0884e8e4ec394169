"""ONNX export of BehaveGPT (for ONNX Runtime Web and other runtimes).

Inputs, all int32 [batch, sequence] (dynamic axes; sequence ≤ contextLength), the arrays of
src/core/batch.ts's Batch in row-major order:
  behaviors, weekdays, slots, locations, target_weekdays, target_slots, target_locations
Outputs, float32:
  behavior_logits [batch, sequence, numBehaviors]  (special tokens at −1e9, as tfjs)
  time_logits     [batch, sequence, 56]            (only for models with a time head)
"""
from __future__ import annotations

import inspect
import warnings
from typing import List, Tuple

import torch
from torch import nn

from .model import BehaveGPT

INPUT_NAMES = ("behaviors", "weekdays", "slots", "locations", "target_weekdays", "target_slots", "target_locations")
OPSET = 13


class _Exported(nn.Module):
    def __init__(self, model: BehaveGPT) -> None:
        super().__init__()
        self.model = model

    def forward(self, behaviors, weekdays, slots, locations, target_weekdays, target_slots, target_locations):
        logits, time = self.model(behaviors, weekdays, slots, locations, target_weekdays, target_slots, target_locations)
        # Every input is part of the graph even where this config ignores it (e.g. locationDim 0),
        # so that callers feed the same seven arrays to every model.
        anchor = (locations[:1, :1] * 0).float().sum() + (slots[:1, :1] * 0).float().sum() + (weekdays[:1, :1] * 0).float().sum()
        logits = logits + anchor
        return (logits, time) if time is not None else (logits,)


def output_names(model: BehaveGPT) -> List[str]:
    return ["behavior_logits", "time_logits"] if model.config.get("timeHead") else ["behavior_logits"]


def export_onnx(model: BehaveGPT, path: str, opset: int = OPSET) -> Tuple[str, ...]:
    """Writes `path`; returns the output names."""
    model = model.cpu().eval()
    B, T = 2, min(5, int(model.config["contextLength"]))
    example = tuple(torch.zeros(B, T, dtype=torch.int32) for _ in INPUT_NAMES)
    outputs = output_names(model)
    dynamic = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, *outputs)}
    # The TorchScript exporter (dynamic_axes); recent 2.x releases default to the dynamo one, which takes other options.
    extra = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-derived Python ints
        with torch.no_grad():
            torch.onnx.export(_Exported(model), example, path, input_names=list(INPUT_NAMES), output_names=outputs,
                              dynamic_axes=dynamic, opset_version=opset, do_constant_folding=True, **extra)
    return tuple(outputs)


def main() -> None:
    import argparse

    from .weights import load_model_dir

    p = argparse.ArgumentParser(prog="python3 -m trainer.onnx_export", description="Writes a model folder's network as ONNX.")
    p.add_argument("--model", required=True, help="model folder (model.json + shards), int8 or float32")
    p.add_argument("--out", required=True, help="the .onnx file to write")
    a = p.parse_args()
    model, *_ = load_model_dir(a.model)
    names = export_onnx(model, a.out)
    print(f"wrote {a.out}: inputs {', '.join(INPUT_NAMES)} (int32 [batch, sequence]); outputs {', '.join(names)}")


if __name__ == "__main__":
    main()
