"""Class-level DRO over label distributions (src/core/dro.ts), in float64 like the TS side.

The worst case over a KL ball of radius ρ around a reference π has the closed form
q_c ∝ π_c exp(L_c / τ), τ found by bisection in log τ; per-class losses are moving averages
over training batches; loss weights are q*_c / p_c clipped to maxWeight.
"""
from __future__ import annotations

import math
from typing import Dict, Optional

import numpy as np

DEFAULT_DRO = {"radius": 0.5, "tailMix": 0.1, "emaRate": 0.05, "maxWeight": 20.0}


def _seq_sum(x: np.ndarray) -> float:
    """Left-to-right sum, the order of the TS loops (numpy's sum is pairwise)."""
    return float(np.cumsum(x)[-1]) if len(x) else 0.0


def kl_divergence(q: np.ndarray, pi: np.ndarray) -> float:
    """KL(q‖π) in nats; terms with q_c = 0 contribute 0."""
    q = np.asarray(q, dtype=np.float64)
    pos = q > 0
    return _seq_sum(q[pos] * np.log(q[pos] / np.asarray(pi, dtype=np.float64)[pos]))


def tilt(pi: np.ndarray, losses: np.ndarray, tau: float) -> np.ndarray:
    """q_c ∝ π_c exp(L_c / τ), shifted by the largest loss among classes with π_c > 0."""
    pi = np.asarray(pi, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    support = pi > 0
    q = np.zeros(len(pi))
    q[support] = pi[support] * np.exp((losses[support] - losses[support].max()) / tau)
    return q / _seq_sum(q[support])


def worst_case_distribution(pi: np.ndarray, losses: np.ndarray, radius: float) -> np.ndarray:
    if radius <= 0:
        return np.array(pi, dtype=np.float64)
    lo, hi = 1e-6, 1e6
    if kl_divergence(tilt(pi, losses, lo), pi) <= radius:
        return tilt(pi, losses, lo)
    if kl_divergence(tilt(pi, losses, hi), pi) >= radius:
        return tilt(pi, losses, hi)
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        if kl_divergence(tilt(pi, losses, mid), pi) > radius:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-9:
            break
    return tilt(pi, losses, hi)


class DroState:
    """Online class DRO: moving per-class losses and the resulting loss weights."""

    def __init__(self, class_counts, options: Optional[Dict[str, float]] = None) -> None:
        self.options = {**DEFAULT_DRO, **(options or {})}
        counts = np.asarray(class_counts, dtype=np.float64)
        total = counts.sum()
        if total <= 0:
            raise ValueError("DRO: no class has any training example")
        self.empirical = counts / total
        seen = int((self.empirical > 0).sum())
        a = float(self.options["tailMix"])
        beta = float(self.options.get("priorBeta") or 0)
        if beta > 0:
            prior = np.array([(n * (1 - beta)) / (1 - beta**n) if n > 0 else 0.0 for n in counts])
        else:
            prior = self.empirical
        prior_sum = float(sum(prior))
        self.reference = np.array([(1 - a) * (p / prior_sum) + a / seen if p > 0 else 0.0 for p in prior])
        self.losses = np.where(self.empirical > 0, math.log(seen), 0.0)

    def observe_sums(self, sums: np.ndarray, counts: np.ndarray) -> None:
        """Folds per-class loss sums and counts (of one batch, all processes) into the averages."""
        eta = float(self.options["emaRate"])
        for c in np.nonzero((counts > 0) & (self.empirical > 0))[0]:
            self.losses[c] = (1 - eta) * self.losses[c] + eta * (sums[c] / counts[c])

    def observe(self, targets: np.ndarray, token_losses: np.ndarray) -> None:
        sums, counts = class_sums(targets, token_losses, len(self.empirical))
        self.observe_sums(sums, counts)

    def distribution(self) -> np.ndarray:
        return worst_case_distribution(self.reference, self.losses, float(self.options["radius"]))

    def weights(self) -> np.ndarray:
        q = self.distribution()
        out = np.zeros(len(q))
        seen = self.empirical > 0
        out[seen] = np.minimum(float(self.options["maxWeight"]), q[seen] / self.empirical[seen])
        return out

    def state_dict(self) -> dict:
        return {"losses": self.losses.tolist()}

    def load_state_dict(self, state: dict) -> None:
        self.losses = np.array(state["losses"], dtype=np.float64)


def class_sums(targets: np.ndarray, token_losses: np.ndarray, num_classes: int):
    """Per-class sums of token losses (float64, summed in token order) and counts."""
    t = np.asarray(targets).reshape(-1)
    l = np.asarray(token_losses, dtype=np.float64).reshape(-1)
    keep = t >= 0
    sums = np.zeros(num_classes)
    counts = np.zeros(num_classes)
    np.add.at(sums, t[keep], l[keep])
    np.add.at(counts, t[keep], 1)
    return sums, counts
