"""Training objectives (src/train/losses.ts): per-token cross-entropy reduced with optional
per-class weights — `ce`, `logit-adjusted` (Menon et al.), `class-balanced` (Cui et al.) and
`dro` (core/dro.ts; with `tau` over logit-adjusted losses)."""
from __future__ import annotations

import math
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch

from .batch import IGNORE
from .dro import DroState, class_sums

OBJECTIVES = ("ce", "dro", "logit-adjusted", "class-balanced")


def token_losses(logits: torch.Tensor, targets: torch.Tensor, logit_bias: Optional[torch.Tensor] = None,
                 label_smoothing: float = 0.0, smoothing_classes: Optional[torch.Tensor] = None):
    """tokenLosses: per-token NLL [N] (0 at ignored tokens) and the 0/1 mask of counted tokens."""
    logits = logits.reshape(-1, logits.shape[-1]).float()
    targets = targets.reshape(-1)
    mask = (targets != IGNORE).float()
    labels = torch.where(targets == IGNORE, torch.zeros_like(targets), targets)
    adjusted = logits + logit_bias if logit_bias is not None else logits
    log_probs = torch.log_softmax(adjusted, -1)
    nll = -log_probs.gather(1, labels[:, None]).squeeze(1)
    if label_smoothing > 0:
        if smoothing_classes is None:
            raise ValueError("label smoothing needs smoothingClasses")
        uniform = smoothing_classes / smoothing_classes.sum()
        # Σ_c target_c · log p_c with target = (1−ε)·onehot + ε·uniform; masked classes get no mass.
        smooth = -(log_probs * uniform).masked_fill(uniform == 0, 0).sum(-1)
        nll = (1 - label_smoothing) * nll + label_smoothing * smooth
    return nll * mask, mask


def token_weights(targets: torch.Tensor, mask: torch.Tensor, class_weights: Optional[torch.Tensor]) -> torch.Tensor:
    if class_weights is None:
        return mask
    labels = torch.where(targets.reshape(-1) == IGNORE, torch.zeros_like(targets.reshape(-1)), targets.reshape(-1))
    return class_weights[labels] * mask


def reduce_losses(losses: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor, class_weights: Optional[torch.Tensor] = None,
                  denominator: Optional[torch.Tensor] = None) -> torch.Tensor:
    """reduceLosses: weighted mean, self-normalised. `denominator` replaces Σ weights (the whole
    global batch's, for data-parallel and accumulated steps)."""
    w = token_weights(targets, mask, class_weights)
    total = denominator if denominator is not None else torch.clamp(w.sum(), min=1e-8)
    return (losses * w).sum() / total


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, denominator: Optional[torch.Tensor] = None) -> torch.Tensor:
    losses, mask = token_losses(logits, targets)
    return reduce_losses(losses, mask, targets.reshape(-1), None, denominator)


class Objective:
    """createObjective: `loss` inside the graph, `after_step` updates adaptive state (DRO)."""

    def __init__(self, spec: Dict, class_counts: Sequence[int], is_special: Callable[[int], bool], device: torch.device = torch.device("cpu")) -> None:
        self.spec = spec
        name = spec["name"]
        if name not in OBJECTIVES:
            raise ValueError(f'objective: "{name}" is not one of {", ".join(OBJECTIVES)}')
        V = len(class_counts)
        total = sum(class_counts)
        self.device = device
        self.num_classes = V
        self.label_smoothing = float(spec.get("labelSmoothing") or 0)
        self.smoothing_classes = torch.tensor([0.0 if is_special(i) else 1.0 for i in range(V)], device=device)
        self.logit_bias: Optional[torch.Tensor] = None
        self.static_weights: Optional[np.ndarray] = None
        self.dro: Optional[DroState] = None
        if name == "logit-adjusted" or (name == "dro" and spec.get("tau")):
            tau = float(spec.get("tau") if spec.get("tau") is not None else 1)
            min_count = min(n for i, n in enumerate(class_counts) if n > 0 and not is_special(i))
            bias = [tau * math.log(max(n, min_count) / total) for n in class_counts]
            self.logit_bias = torch.tensor(np.array(bias, dtype=np.float32), device=device)
        if name == "class-balanced":
            beta = float(spec.get("beta") if spec.get("beta") is not None else 0.999)
            raw = [0.0 if is_special(i) or n == 0 else (1 - beta) / (1 - beta**n) for i, n in enumerate(class_counts)]
            seen = sum(1 for w in raw if w > 0)
            s = sum(raw)
            self.static_weights = np.array([w * seen / s for w in raw])
        elif name == "dro":
            self.dro = DroState([0 if is_special(i) else n for i, n in enumerate(class_counts)], spec.get("dro"))
        self._pending = None

    def class_weights(self) -> Optional[np.ndarray]:
        return self.dro.weights() if self.dro is not None else self.static_weights

    def weight_tensor(self) -> Optional[torch.Tensor]:
        w = self.class_weights()
        return None if w is None else torch.tensor(w.astype(np.float32), device=self.device)

    def weight_sum(self, targets: np.ndarray, weights: Optional[torch.Tensor]) -> float:
        """Σ of token weights of a batch (computed before the forward pass, for the global denominator)."""
        t = np.asarray(targets).reshape(-1)
        if weights is None:
            return float((t != IGNORE).sum())
        w = weights.cpu().numpy()
        return float(w[t[t != IGNORE]].astype(np.float64).sum())

    def loss(self, logits: torch.Tensor, targets: torch.Tensor, weights: Optional[torch.Tensor] = None,
             denominator: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Scalar loss of a batch; `weights` from weight_tensor() (taken once per optimizer step)."""
        losses, mask = token_losses(logits, targets, self.logit_bias, self.label_smoothing, self.smoothing_classes)
        if self.dro is not None:
            sums, counts = class_sums(targets.reshape(-1).detach().cpu().numpy(), losses.detach().double().cpu().numpy(), self.num_classes)
            self._pending = (sums, counts) if self._pending is None else (self._pending[0] + sums, self._pending[1] + counts)
        return reduce_losses(losses, mask, targets.reshape(-1), weights, denominator)

    def pending_sums(self):
        """Per-class loss sums and counts of the batches seen since the last step (DRO only)."""
        return self._pending if self.dro is not None else None

    def after_step(self, sums_counts=None) -> None:
        """afterStep: DRO folds this step's per-class losses (summed over processes if given)."""
        if self.dro is None:
            return
        if sums_counts is None:
            sums_counts = self.pending_sums()
        if sums_counts is not None:
            self.dro.observe_sums(*sums_counts)
        self._pending = None


def count_targets(seqs, behaviors) -> list:
    """countTargets: training events per vocabulary id."""
    counts = [0] * behaviors.size
    for name, n in seqs.behavior_counts().items():
        counts[behaviors.id(name)] += n
    return counts
