"""Vocabularies (src/core/vocab.ts): names to dense ids, special tokens first."""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence

PAD = "<pad>"
BOS = "<bos>"
UNK = "<unk>"
SPECIALS = (PAD, BOS, UNK)


def js_order(name: str) -> bytes:
    """Sort key equal to JavaScript's `<` on strings (UTF-16 code units)."""
    return name.encode("utf-16-be", "surrogatepass")


class Vocabulary:
    def __init__(self, tokens: Sequence[str], counts: Optional[Sequence[int]] = None) -> None:
        seen: Dict[str, int] = {}
        for i, t in enumerate(tokens):
            if t in seen:
                raise ValueError(f'vocabulary: duplicate token "{t}" at {seen[t]} and {i}')
            seen[t] = i
        if counts is not None and len(counts) != len(tokens):
            raise ValueError(f"vocabulary: {len(counts)} counts for {len(tokens)} tokens")
        self.tokens: List[str] = list(tokens)
        self.counts: List[int] = list(counts) if counts is not None else [0] * len(tokens)
        self._index = seen

    @staticmethod
    def from_counts(counts: Dict[str, int], specials: Sequence[str] = SPECIALS) -> "Vocabulary":
        """Vocabulary.fromNames with the counting done: specials, then by count desc, name asc."""
        counts = {n: c for n, c in counts.items() if n not in specials}
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], js_order(kv[0])))
        return Vocabulary([*specials, *(n for n, _ in ordered)], [*(0 for _ in specials), *(c for _, c in ordered)])

    @staticmethod
    def from_names(names: Iterable[str], specials: Sequence[str] = SPECIALS) -> "Vocabulary":
        counts: Dict[str, int] = {}
        for n in names:
            counts[n] = counts.get(n, 0) + 1
        return Vocabulary.from_counts(counts, specials)

    @staticmethod
    def from_json(data: dict) -> "Vocabulary":
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list) or any(not isinstance(t, str) for t in tokens):
            raise ValueError('vocabulary: "tokens" must be a list of strings')
        return Vocabulary(tokens, data.get("counts"))

    def to_json(self) -> dict:
        return {"tokens": list(self.tokens), "counts": list(self.counts)}

    @property
    def size(self) -> int:
        return len(self.tokens)

    def __len__(self) -> int:
        return len(self.tokens)

    def has(self, name: str) -> bool:
        return name in self._index

    def id(self, name: str) -> int:
        """Id of a name; unknown names map to <unk> when the vocabulary has it, else raise."""
        i = self._index.get(name)
        if i is not None:
            return i
        unk = self._index.get(UNK)
        if unk is not None:
            return unk
        raise KeyError(f'vocabulary: unknown token "{name}"')

    def lookup(self, name: str) -> int:
        """Id of a name, or -1 (no <unk> fallback)."""
        return self._index.get(name, -1)

    def name(self, i: int) -> str:
        if not 0 <= i < len(self.tokens):
            raise IndexError(f"vocabulary: id {i} out of range 0..{len(self.tokens) - 1}")
        return self.tokens[i]

    def is_special(self, i: int) -> bool:
        return 0 <= i < len(self.tokens) and self.tokens[i] in SPECIALS

    def extend(self, names: Iterable[str]) -> "Vocabulary":
        added = [n for n in dict.fromkeys(names) if n not in self._index]
        return Vocabulary([*self.tokens, *added], [*self.counts, *(0 for _ in added)])

    def known_id(self, name: str) -> int:
        """knownId in core/baselines.ts: the id of a real behavior, else -1."""
        i = self._index.get(name, -1)
        return -1 if i < 0 or self.is_special(i) else i
