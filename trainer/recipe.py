"""The pretraining recipe (src/train/recipe.ts): vocabularies from the train split, a config
sized from them, the named model sizes."""
from __future__ import annotations

from typing import Dict, Tuple

from .data import UNKNOWN_LOCATION, Sequences
from .vocab import BOS, PAD, UNK, Vocabulary

DEFAULT_CONFIG: Dict[str, object] = {
    "contextLength": 33,
    "behaviorDim": 48,
    "weekdayDim": 8,
    "slotDim": 8,
    "locationDim": 8,
    "targetDim": 16,
    "numLayers": 2,
    "numHeads": 4,
    "mlpRatio": 4,
    "headHidden": 128,
    "dropout": 0.1,
    "useContext": True,
}

SIZES: Dict[str, Dict[str, object]] = {
    "xs": {"behaviorDim": 8, "weekdayDim": 4, "slotDim": 4, "locationDim": 0, "targetDim": 4, "numLayers": 1, "numHeads": 2, "headHidden": 16},
    "s": {"behaviorDim": 24, "weekdayDim": 4, "slotDim": 4, "locationDim": 0, "targetDim": 8, "numLayers": 1, "numHeads": 2, "headHidden": 48},
    "m-": {"behaviorDim": 28, "weekdayDim": 8, "slotDim": 8, "locationDim": 4, "targetDim": 8, "numLayers": 1, "numHeads": 2, "headHidden": 64},
    "m": {},
}
SHIPPED_SIZE = "s"


def size_overrides(name: str) -> Dict[str, object]:
    if name not in SIZES:
        raise ValueError(f'--size: "{name}" is not one of {", ".join(SIZES)}')
    return dict(SIZES[name])


def build_vocabularies(train: Sequences) -> Tuple[Vocabulary, Vocabulary]:
    behaviors = Vocabulary.from_counts(train.behavior_counts(), [PAD, BOS, UNK])
    locations = Vocabulary.from_counts(train.location_counts(), []).extend([UNKNOWN_LOCATION])
    return behaviors, locations


def build_config(behaviors: Vocabulary, locations: Vocabulary, overrides: Dict[str, object] = {}) -> Dict[str, object]:
    return {
        **DEFAULT_CONFIG,
        **overrides,
        "numBehaviors": behaviors.size,
        "numLocations": locations.size,
        "specialBehaviorIds": [behaviors.id(t) for t in (PAD, BOS, UNK)],
    }
