"""BehaveGPT in PyTorch, the twin of src/model/behavegpt.ts: the same config keys, parameter
names, order, shapes and initialisation (seeded mulberry32 normals, so a seed gives the same
weights as BehaveGPT.create), and the same forward pass op for op.

Four input streams (behavior, weekday, 3-hour slot, location) are embedded, concatenated, added
to a learned position embedding and passed through pre-norm causal transformer blocks; an MLP
head over behaviors reads the hidden state with the predicted event's weekday/slot/location.
Parameters live in nested modules so that `named_parameters()` yields the TS names
("block0.attn.qkv.w").
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .batch import NUM_SLOT_DELTAS
from .data import NUM_SLOTS, NUM_WEEKDAYS
from .rng import create_rng, normal

Config = Dict[str, object]
Init = Union[float, str]


def model_width(c: Config) -> int:
    return int(c["behaviorDim"]) + (int(c["weekdayDim"]) + int(c["slotDim"]) + int(c["locationDim"]) if c["useContext"] else 0)


def parameter_specs(c: Config) -> "OrderedDict[str, Tuple[List[int], Init]]":
    """parameterSpecs: name -> (shape, init std | 'ones'), in the weight file's order."""
    d = model_width(c)
    std = 0.02
    residual = std / math.sqrt(2 * int(c["numLayers"]))
    specs: "OrderedDict[str, Tuple[List[int], Init]]" = OrderedDict()

    def add(name: str, shape: List[int], init: Init) -> None:
        specs[name] = (shape, init)

    use_context = bool(c["useContext"])
    add("embed.behavior", [int(c["numBehaviors"]), int(c["behaviorDim"])], std)
    if use_context:
        add("embed.weekday", [NUM_WEEKDAYS + 1, int(c["weekdayDim"])], std)
        add("embed.slot", [NUM_SLOTS + 1, int(c["slotDim"])], std)
        if int(c["locationDim"]) > 0:
            add("embed.location", [int(c["numLocations"]), int(c["locationDim"])], std)
    add("embed.position", [int(c["contextLength"]), d], std)
    ratio = int(c["mlpRatio"])
    for layer in range(int(c["numLayers"])):
        p = f"block{layer}."
        add(p + "ln1.gamma", [d], "ones")
        add(p + "ln1.beta", [d], 0.0)
        add(p + "attn.qkv.w", [d, 3 * d], std)
        add(p + "attn.qkv.b", [3 * d], 0.0)
        add(p + "attn.out.w", [d, d], residual)
        add(p + "attn.out.b", [d], 0.0)
        add(p + "ln2.gamma", [d], "ones")
        add(p + "ln2.beta", [d], 0.0)
        add(p + "mlp.fc.w", [d, ratio * d], std)
        add(p + "mlp.fc.b", [ratio * d], 0.0)
        add(p + "mlp.proj.w", [ratio * d, d], residual)
        add(p + "mlp.proj.b", [d], 0.0)
    add("lnf.gamma", [d], "ones")
    add("lnf.beta", [d], 0.0)
    target = int(c["targetDim"])
    head_in = d + (3 * target if use_context else 0)
    if use_context:
        add("target.weekday", [NUM_WEEKDAYS + 1, target], std)
        add("target.slot", [NUM_SLOTS + 1, target], std)
        add("target.location", [int(c["numLocations"]), target], std)
    add("head.fc.w", [head_in, int(c["headHidden"])], std)
    add("head.fc.b", [int(c["headHidden"])], 0.0)
    add("head.out.w", [int(c["headHidden"]), int(c["numBehaviors"])], std)
    add("head.out.b", [int(c["numBehaviors"])], 0.0)
    if c.get("timeHead"):
        hidden = int(c.get("timeHidden") or 64)
        add("time.fc.w", [d, hidden], std)
        add("time.fc.b", [hidden], 0.0)
        add("time.out.w", [hidden, NUM_SLOT_DELTAS], std)
        add("time.out.b", [NUM_SLOT_DELTAS], 0.0)
    return specs


def is_embedding_parameter(name: str) -> bool:
    return name.startswith("embed.") or name.startswith("target.") or name in ("head.out.w", "head.out.b")


def count_parameters(c: Config, include=lambda name: True) -> int:
    return sum(int(np.prod(shape)) for name, (shape, _) in parameter_specs(c).items() if include(name))


def initial_values(c: Config, seed: int = 0) -> "OrderedDict[str, np.ndarray]":
    """BehaveGPT.create's values: one mulberry32 stream over the parameters in order."""
    rng = create_rng(seed)
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for name, (shape, init) in parameter_specs(c).items():
        size = int(np.prod(shape))
        if init == "ones":
            values = np.ones(size, np.float32)
        elif init > 0:
            values = np.array([normal(rng) * init for _ in range(size)], dtype=np.float64).astype(np.float32)
        else:
            values = np.zeros(size, np.float32)
        out[name] = values.reshape(shape)
    return out


def gelu(x: torch.Tensor) -> torch.Tensor:
    """x·σ(1.702x), the sigmoid approximation the TS model uses."""
    return x * torch.sigmoid(x * 1.702)


def layer_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """tf.moments then (x − mean)/sqrt(var + 1e-5)·γ + β, in float32 under autocast too."""
    x = x.float()
    mean = x.mean(-1, keepdim=True)
    variance = (x - mean).square().mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + 1e-5) * gamma + beta


class _Node(nn.Module):
    """A container whose attribute path spells a TS parameter name."""


class BehaveGPT(nn.Module):
    def __init__(self, config: Config, values: Optional[Dict[str, np.ndarray]] = None, seed: int = 0) -> None:
        super().__init__()
        self.config = dict(config)
        specs = parameter_specs(self.config)
        if values is None:
            values = initial_values(self.config, seed)
        self._names: List[str] = list(specs)
        for name, (shape, _) in specs.items():
            if name not in values:
                raise ValueError(f'weights: missing tensor "{name}"')
            v = np.asarray(values[name], dtype=np.float32)
            if list(v.shape) != list(shape):
                raise ValueError(f'weights: tensor "{name}" has shape [{",".join(map(str, v.shape))}], config needs [{",".join(map(str, shape))}]')
            *path, leaf = name.split(".")
            node: nn.Module = self
            for part in path:
                if not hasattr(node, part):
                    node.add_module(part, _Node())
                node = getattr(node, part)
            node.register_parameter(leaf, nn.Parameter(torch.from_numpy(v.copy())))
        mask = torch.zeros(int(self.config["numBehaviors"]))
        mask[list(self.config["specialBehaviorIds"])] = -1e9
        self.register_buffer("logit_mask", mask, persistent=False)

    # -- parameters by TS name ---------------------------------------------------------------------
    def p(self, name: str) -> torch.Tensor:
        node: nn.Module = self
        for part in name.split("."):
            node = getattr(node, part)
        return node  # type: ignore[return-value]

    def ts_parameters(self) -> "OrderedDict[str, nn.Parameter]":
        """Parameters in parameterSpecs order, keyed by their TS names."""
        return OrderedDict((n, self.p(n)) for n in self._names)

    def values(self) -> "OrderedDict[str, np.ndarray]":
        return OrderedDict((n, t.detach().float().cpu().numpy().copy()) for n, t in self.ts_parameters().items())

    @property
    def parameter_count(self) -> int:
        return sum(int(t.numel()) for t in self.ts_parameters().values())

    # -- forward -----------------------------------------------------------------------------------
    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        rate = float(self.config["dropout"])
        return F.dropout(x, rate, training=True) if self.training and rate > 0 else x

    def hidden(self, behaviors: torch.Tensor, weekdays: torch.Tensor, slots: torch.Tensor, locations: torch.Tensor) -> torch.Tensor:
        """Final hidden states [B, T, width] after the last layer norm (hidden in behavegpt.ts)."""
        c = self.config
        B, T = behaviors.shape[0], behaviors.shape[1]
        if not torch.jit.is_tracing() and T > int(c["contextLength"]):
            raise ValueError(f"BehaveGPT: {T} tokens exceed the context length {c['contextLength']}")
        d = model_width(c)
        H = int(c["numHeads"])
        dh = d // H
        streams = [F.embedding(behaviors.long(), self.p("embed.behavior"))]
        if c["useContext"]:
            streams.append(F.embedding(weekdays.long(), self.p("embed.weekday")))
            streams.append(F.embedding(slots.long(), self.p("embed.slot")))
            if int(c["locationDim"]) > 0:
                streams.append(F.embedding(locations.long(), self.p("embed.location")))
        x = torch.cat(streams, -1) if len(streams) > 1 else streams[0]
        x = self._drop(x + self.p("embed.position")[:T])
        positions = torch.arange(T, device=behaviors.device)
        causal = torch.where(positions[None, :] <= positions[:, None], torch.zeros((), device=x.device), torch.full((), -1e9, device=x.device))
        for layer in range(int(c["numLayers"])):
            p = f"block{layer}."
            h = layer_norm(x, self.p(p + "ln1.gamma"), self.p(p + "ln1.beta"))
            qkv = h @ self.p(p + "attn.qkv.w") + self.p(p + "attn.qkv.b")
            q, k, v = qkv.split(d, dim=-1)
            heads = lambda m: m.reshape(B, T, H, dh).transpose(1, 2)  # noqa: E731
            scores = (heads(q) @ heads(k).transpose(-1, -2)) * (1 / math.sqrt(dh)) + causal
            att = self._drop(torch.softmax(scores.float(), -1))
            y = (att.to(v.dtype) @ heads(v)).transpose(1, 2).reshape(B, T, d)
            x = x + self._drop(y @ self.p(p + "attn.out.w") + self.p(p + "attn.out.b"))
            h2 = layer_norm(x, self.p(p + "ln2.gamma"), self.p(p + "ln2.beta"))
            ff = gelu(h2 @ self.p(p + "mlp.fc.w") + self.p(p + "mlp.fc.b")) @ self.p(p + "mlp.proj.w") + self.p(p + "mlp.proj.b")
            x = x + self._drop(ff)
        return layer_norm(x, self.p("lnf.gamma"), self.p("lnf.beta"))

    def behavior_head(self, rows: torch.Tensor, target_weekdays: torch.Tensor, target_slots: torch.Tensor, target_locations: torch.Tensor) -> torch.Tensor:
        if self.config["useContext"]:
            rows = torch.cat([
                rows,
                F.embedding(target_weekdays.long(), self.p("target.weekday")),
                F.embedding(target_slots.long(), self.p("target.slot")),
                F.embedding(target_locations.long(), self.p("target.location")),
            ], -1)
        hidden = self._drop(gelu(rows @ self.p("head.fc.w") + self.p("head.fc.b")))
        return (hidden @ self.p("head.out.w") + self.p("head.out.b")).float() + self.logit_mask

    def time_head(self, rows: torch.Tensor) -> torch.Tensor:
        return (gelu(rows @ self.p("time.fc.w") + self.p("time.fc.b")) @ self.p("time.out.w") + self.p("time.out.b")).float()

    def forward(self, behaviors, weekdays, slots, locations, target_weekdays, target_slots, target_locations, detach_time: bool = False):
        """(behavior logits [B, T, V], time logits [B, T, 56] or None), every position."""
        x = self.hidden(behaviors, weekdays, slots, locations)
        logits = self.behavior_head(x, target_weekdays, target_slots, target_locations)
        if not self.config.get("timeHead"):
            return logits, None
        return logits, self.time_head(x.detach() if detach_time else x)

    def batch_forward(self, batch: Dict[str, torch.Tensor], detach_time: bool = False):
        return self(*(batch[k] for k in ("behaviors", "weekdays", "slots", "locations", "target_weekdays", "target_slots", "target_locations")), detach_time=detach_time)
