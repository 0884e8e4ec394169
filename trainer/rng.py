"""Seeded pseudo-random numbers, bit for bit those of src/core/random.ts (mulberry32), so that
initialisation, batch order and subsets match the TypeScript side for the same seed."""
from __future__ import annotations

import math
from typing import Callable, MutableSequence, TypeVar

Rng = Callable[[], float]
T = TypeVar("T")
_M = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & _M


class Mulberry32:
    """createRng(seed): call it for a float in [0, 1). `state` can be saved and restored."""

    def __init__(self, seed: int) -> None:
        self.state = seed & _M

    def __call__(self) -> float:
        self.state = (self.state + 0x6D2B79F5) & _M
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & _M
        return ((t ^ (t >> 14)) & _M) / 4294967296


def create_rng(seed: int) -> Mulberry32:
    return Mulberry32(seed)


def normal(rng: Rng) -> float:
    """Standard normal via Box–Muller (normal in random.ts)."""
    u = 1 - rng()
    v = rng()
    return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v)


def shuffle(items: MutableSequence[T], rng: Rng) -> MutableSequence[T]:
    """In-place Fisher–Yates shuffle (shuffle in random.ts)."""
    for i in range(len(items) - 1, 0, -1):
        j = math.floor(rng() * (i + 1))
        items[i], items[j] = items[j], items[i]
    return items
