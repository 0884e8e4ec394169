"""Behavior logs (src/core/data.ts and src/node/data.ts): the canonical CSV and the timestamped
log, plain or gzip, with the same rules and error messages. Events are held column-wise
(numpy arrays of name indices) so a log of 10^7+ events fits in memory.

- canonical:   sequence_id,step,weekday,time_slot,behavior[,split][,location] (any order);
- timestamped: user_id,timestamp,behavior[,location], one sequence per user in time order;
  weekday and slot from the wall-clock time as written (TIMESTAMP_TIMEZONE_RULE in data.ts).
"""
from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from .rng import create_rng, shuffle

NUM_WEEKDAYS = 7
NUM_SLOTS = 8
UNKNOWN_LOCATION = "<unknown>"
REGIONS = ("us", "fr", "sp")
SPLITS = ("train", "valid", "test")
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
CANONICAL_REQUIRED = ("sequence_id", "step", "weekday", "time_slot", "behavior")
TIMESTAMPED_REQUIRED = ("user_id", "timestamp", "behavior")
MAX_SAFE_INTEGER = 2**53 - 1


def default_data_dir() -> str:
    """$BEHAVEGPT_DATA, else ../shared/data/smartthings next to the checkout (as src/node/data.ts)."""
    env = os.environ.get("BEHAVEGPT_DATA")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(os.path.dirname(root), "shared", "data", "smartthings")


class DataError(ValueError):
    """A problem in an input file, located as precisely as known (1-based line, header = 1)."""

    def __init__(self, file: str, line: Optional[int], fld: Optional[str], problem: str) -> None:
        where = file
        if line is not None:
            where += f": line {line}"
        if fld is not None:
            where += f'{"," if line is not None else ":"} field "{fld}"'
        super().__init__(f"{where}: {problem}")
        self.file, self.line, self.field, self.problem = file, line, fld, problem


def format_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


@dataclass
class EventLog:
    """Sequences of events, column-wise. Event i of the log has behavior `names[behavior[i]]`."""

    format: str
    names: List[str]
    location_names: List[str]
    behavior: np.ndarray  # int32, index into names
    weekday: np.ndarray  # int32
    slot: np.ndarray  # int32
    location: np.ndarray  # int32, index into location_names
    seq_ids: List[str]
    seq_splits: List[Optional[str]]
    offsets: np.ndarray  # int64, len(seq_ids) + 1

    @property
    def events(self) -> int:
        return int(self.offsets[-1])

    def behaviors(self) -> List[str]:
        """Distinct behavior names, sorted (ParsedLog.behaviors)."""
        used = np.unique(self.behavior)
        from .vocab import js_order

        return sorted((self.names[i] for i in used), key=js_order)

    def all(self) -> "Sequences":
        return Sequences(self, np.arange(len(self.seq_ids), dtype=np.int64))


@dataclass
class Sequences:
    """A selection of a log's sequences (a split, a subset), in file order."""

    log: EventLog
    index: np.ndarray  # int64 sequence indices

    def __len__(self) -> int:
        return len(self.index)

    @property
    def starts(self) -> np.ndarray:
        return self.log.offsets[self.index]

    @property
    def lengths(self) -> np.ndarray:
        return self.log.offsets[self.index + 1] - self.log.offsets[self.index]

    @property
    def events(self) -> int:
        return int(self.lengths.sum())

    def event_index(self) -> np.ndarray:
        """Indices (into the log's event arrays) of every event of the selection."""
        if len(self.index) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(s, s + n) for s, n in zip(self.starts, self.lengths)])

    def behavior_counts(self) -> Dict[str, int]:
        """behaviorCounts in core/baselines.ts (name -> events)."""
        raw = np.bincount(self.log.behavior[self.event_index()], minlength=len(self.log.names))
        return {self.log.names[i]: int(c) for i, c in enumerate(raw) if c > 0}

    def location_counts(self) -> Dict[str, int]:
        raw = np.bincount(self.log.location[self.event_index()], minlength=len(self.log.location_names))
        return {self.log.location_names[i]: int(c) for i, c in enumerate(raw) if c > 0}

    def to_events(self) -> List[List[tuple]]:
        """[(behavior, weekday, slot, location)] per sequence (small data: tests, the twin)."""
        log = self.log
        out = []
        for s, n in zip(self.starts, self.lengths):
            out.append([
                (log.names[log.behavior[i]], int(log.weekday[i]), int(log.slot[i]), log.location_names[log.location[i]])
                for i in range(s, s + n)
            ])
        return out


def split_sequences(log: EventLog, split: str) -> Sequences:
    return Sequences(log, np.array([i for i, s in enumerate(log.seq_splits) if s == split], dtype=np.int64))


def nested_subset(seqs: Sequences, fraction: float, seed: int = 0) -> Sequences:
    """nestedSubset: whole sequences by one fixed permutation, smaller fractions inside larger."""
    if not (0 < fraction <= 1):
        raise ValueError(f"nestedSubset: fraction {fraction} is not in (0, 1]")
    if fraction == 1:
        return Sequences(seqs.log, seqs.index.copy())
    count = max(1, js_round(fraction * len(seqs)))
    chosen = set(shuffle(list(range(len(seqs))), create_rng(seed))[:count])
    return Sequences(seqs.log, np.array([s for i, s in enumerate(seqs.index) if i in chosen], dtype=np.int64))


def js_round(x: float) -> int:
    """Math.round: halves round up."""
    import math

    return math.floor(x + 0.5)


# --- Reading ------------------------------------------------------------------------------------


_SPLIT_CODES = (None, "train", "valid", "test")


def save_npz(log: EventLog, path: str) -> None:
    """The log in columns (numpy .npz): parsed once, a large log loads in seconds."""
    np.savez(path, format=np.array(log.format), names=np.array(log.names, dtype=object), location_names=np.array(log.location_names, dtype=object),
             behavior=log.behavior, weekday=log.weekday.astype(np.int8), slot=log.slot.astype(np.int8), location=log.location,
             seq_ids=np.array(log.seq_ids, dtype=object), seq_splits=np.array([_SPLIT_CODES.index(s) for s in log.seq_splits], dtype=np.int8),
             offsets=log.offsets)


def load_npz(path: str) -> EventLog:
    z = np.load(path, allow_pickle=True)
    return EventLog(format=str(z["format"]), names=list(z["names"]), location_names=list(z["location_names"]), behavior=z["behavior"].astype(np.int32),
                    weekday=z["weekday"].astype(np.int32), slot=z["slot"].astype(np.int32), location=z["location"].astype(np.int32),
                    seq_ids=list(z["seq_ids"]), seq_splits=[_SPLIT_CODES[c] for c in z["seq_splits"]], offsets=z["offsets"].astype(np.int64))


def read_log_file(path: str, max_bytes: int = DEFAULT_MAX_BYTES, default_location: str = UNKNOWN_LOCATION) -> EventLog:
    """readLogFile: reads, gunzips (by extension or magic bytes) and parses a log file; a .npz
    (save_npz) is loaded as it is."""
    if path.endswith(".npz") and os.path.isfile(path):
        return load_npz(path)
    try:
        size = os.stat(path).st_size
        if os.path.isdir(path):
            raise IsADirectoryError(path)
    except FileNotFoundError:
        raise DataError(path, None, None, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, None, None, "is a folder, not a file") from None
    except OSError as e:
        raise DataError(path, None, None, f"cannot read the file ({e})") from None
    if size > max_bytes:
        raise DataError(path, None, None, f"file is {format_bytes(size)}, larger than the {format_bytes(max_bytes)} limit")
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz") or data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as g:
                data = g.read(max_bytes + 1)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(path, None, None, f"not a valid gzip file ({e})") from None
        if len(data) > max_bytes:
            raise DataError(path, None, None, f"decompressed data is larger than the {format_bytes(max_bytes)} limit")
    return parse_behavior_log(data, path, max_bytes=max_bytes, default_location=default_location)


def load_region(region: str, data_dir: Optional[str] = None) -> EventLog:
    """A SmartThings region file, <data_dir>/<region>.csv.gz (loadRegion)."""
    data_dir = data_dir or default_data_dir()
    if region not in REGIONS:
        raise ValueError(f'unknown region "{region}" (expected {", ".join(REGIONS)})')
    hint = "set BEHAVEGPT_DATA to the folder that holds " + ", ".join(f"{r}.csv.gz" for r in REGIONS)
    if not os.path.exists(data_dir):
        raise DataError(data_dir, None, None, f"data folder not found; {hint}")
    path = os.path.abspath(os.path.join(data_dir, f"{region}.csv.gz"))
    if not os.path.exists(path):
        raise DataError(path, None, None, f"file not found; {hint}")
    return read_log_file(path)


def _decode_utf8(data: bytes, file: str) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        line = 1
        for chunk in data.split(b"\n"):
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError:
                break
            line += 1
        raise DataError(file, line, None, "not valid UTF-8 text (save the file as UTF-8)") from None
    return text[1:] if text.startswith("\ufeff") else text


def _csv_rows(text: str, file: str):
    """(fields, physical start line) per row; blank lines dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    previous = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise DataError(file, previous + 1, None, f"malformed CSV: {e}") from None
        line = previous + 1
        previous = reader.line_num
        if not fields or (len(fields) == 1 and fields[0].strip() == ""):
            continue
        yield fields, line


_INT = re.compile(r"^[+-]?[0-9]+$")


def parse_behavior_log(data, file: str, max_bytes: int = DEFAULT_MAX_BYTES, default_location: str = UNKNOWN_LOCATION) -> EventLog:
    """parseBehaviorLog: a complete EventLog or a DataError; nothing is half-loaded."""
    if isinstance(data, str):
        text = data[1:] if data.startswith("\ufeff") else data
    else:
        if len(data) > max_bytes:
            raise DataError(file, None, None, f"file is {format_bytes(len(data))}, larger than the {format_bytes(max_bytes)} limit")
        text = _decode_utf8(data, file)
    rows = _csv_rows(text, file)
    first = next(rows, None)
    if first is None:
        raise DataError(file, None, None, "the file is empty")
    header = [h.strip().lower() for h in first[0]]
    columns: Dict[str, int] = {}
    for i, name in enumerate(header):
        if name in columns:
            raise DataError(file, 1, name, f'column "{name}" appears twice in the header')
        columns[name] = i
    second = next(rows, None)
    if second is None:
        raise DataError(file, None, None, "the file has a header row but no data rows")

    def all_rows():
        yield second
        yield from rows

    if "sequence_id" in columns:
        return _parse_canonical(file, header, columns, all_rows(), default_location)
    if "user_id" in columns or "timestamp" in columns:
        return _parse_timestamped(file, header, columns, all_rows(), default_location)
    raise DataError(
        file, 1, None,
        f'unrecognized header "{",".join(first[0])}": expected the columns '
        f'{",".join(CANONICAL_REQUIRED)}[,split][,location] or {",".join(TIMESTAMPED_REQUIRED)}[,location]',
    )


def _require_columns(file: str, columns: Dict[str, int], required: Sequence[str]) -> None:
    for name in required:
        if name not in columns:
            raise DataError(file, 1, name, f'the header has no "{name}" column (required: {",".join(required)})')


def _int_field(value: str, lo: int, hi: int, file: str, line: int, fld: str, what: str) -> int:
    n = int(value) if _INT.match(value) else None
    if n is None or not (lo <= n <= hi):
        raise DataError(file, line, fld, f'"{value}" is not {what}')
    return n


class _Interner:
    def __init__(self) -> None:
        self.names: List[str] = []
        self.index: Dict[str, int] = {}

    def __call__(self, name: str) -> int:
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.names)
            self.names.append(name)
        return i


def _parse_canonical(file, header, columns, rows, default_location) -> EventLog:
    _require_columns(file, columns, CANONICAL_REQUIRED)
    n_fields = len(header)
    c_id, c_step, c_wd, c_slot, c_beh = (columns[c] for c in CANONICAL_REQUIRED)
    c_split = columns.get("split")
    c_loc = columns.get("location")
    names, locs = _Interner(), _Interner()
    behavior: List[int] = []
    weekday: List[int] = []
    slot: List[int] = []
    location: List[int] = []
    seq_ids: List[str] = []
    seq_splits: List[Optional[str]] = []
    offsets: List[int] = [0]
    seen = set()
    current: Optional[str] = None
    current_split: Optional[str] = None
    split_line = 0
    steps = 0
    for fields, line in rows:
        if len(fields) != n_fields:
            raise DataError(file, line, None, f"expected {n_fields} fields like the header, found {len(fields)}")
        sid = fields[c_id].strip()
        if sid == "":
            raise DataError(file, line, "sequence_id", "empty sequence_id")
        step = _int_field(fields[c_step].strip(), 0, MAX_SAFE_INTEGER, file, line, "step", "a step (an integer from 0)")
        wd = _int_field(fields[c_wd].strip(), 0, NUM_WEEKDAYS - 1, file, line, "weekday", "a weekday (0–6, Monday = 0)")
        sl = _int_field(fields[c_slot].strip(), 0, NUM_SLOTS - 1, file, line, "time_slot", "a time slot (0–7, three-hour bins)")
        beh = fields[c_beh].strip()
        if beh == "":
            raise DataError(file, line, "behavior", "empty behavior")
        loc = (fields[c_loc].strip() if c_loc is not None else "") or default_location
        split: Optional[str] = None
        if c_split is not None:
            split = fields[c_split].strip()
            if split not in SPLITS:
                raise DataError(file, line, "split", f'"{split}" is not a split (train, valid or test)')
        if current is None or sid != current:
            if sid in seen:
                raise DataError(file, line, "sequence_id", f'sequence "{sid}" appears again after other sequences; the rows of a sequence must be contiguous')
            if step != 0:
                raise DataError(file, line, "step", f'sequence "{sid}" starts at step {step}, not 0')
            seen.add(sid)
            if current is not None:
                offsets.append(len(behavior))
            current, current_split, split_line, steps = sid, split, line, 0
            seq_ids.append(sid)
            seq_splits.append(split)
        else:
            if step != steps:
                raise DataError(file, line, "step", f'step {step} follows step {steps - 1} in sequence "{sid}"')
            if split != current_split:
                raise DataError(file, line, "split", f'sequence "{sid}" is in split "{_js(current_split)}" on line {split_line} but "{_js(split)}" here; a sequence has one split')
        steps += 1
        behavior.append(names(beh))
        weekday.append(wd)
        slot.append(sl)
        location.append(locs(loc))
    offsets.append(len(behavior))
    return _finish("canonical", names, locs, behavior, weekday, slot, location, seq_ids, seq_splits, offsets)


def _js(value: Optional[str]) -> str:
    return "undefined" if value is None else value


def _finish(fmt, names, locs, behavior, weekday, slot, location, seq_ids, seq_splits, offsets) -> EventLog:
    return EventLog(
        format=fmt,
        names=names.names,
        location_names=locs.names,
        behavior=np.array(behavior, dtype=np.int32),
        weekday=np.array(weekday, dtype=np.int32),
        slot=np.array(slot, dtype=np.int32),
        location=np.array(location, dtype=np.int32),
        seq_ids=seq_ids,
        seq_splits=seq_splits,
        offsets=np.array(offsets, dtype=np.int64),
    )


# --- Timestamps (parseTimestamp) ------------------------------------------------------------------

_ISO = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?(Z|[+-][0-9]{2}:[0-9]{2})?$", re.I)
_EPOCH = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
MAX_EPOCH_SECONDS = 253_402_300_799
_DAY_MS = 86_400_000


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _month_days(y: int, m: int) -> int:
    if m == 2:
        return 29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _clock(ms: int):
    days = ms // _DAY_MS
    return (days + 3) % 7, (ms - days * _DAY_MS) // 3_600_000 // 3


def parse_timestamp(value: str):
    """(absolute ms for ordering, weekday Monday = 0, slot) or None (TIMESTAMP_TIMEZONE_RULE)."""
    m = _ISO.match(value)
    if m:
        y, mo, d, h, mi = (int(m.group(i)) for i in range(1, 6))
        s = int(m.group(6) or 0)
        frac = m.group(7) or ""
        zone = m.group(8)
        if not (1 <= mo <= 12 and 1 <= d <= _month_days(y, mo) and h <= 23 and mi <= 59 and s <= 59):
            return None
        wall = _days_from_civil(y, mo, d) * _DAY_MS + h * 3_600_000 + mi * 60_000 + s * 1000 + int(frac[:3].ljust(3, "0"))
        offset = 0
        if zone and zone.upper() != "Z":
            oh, om = int(zone[1:3]), int(zone[4:6])
            if oh > 23 or om > 59:
                return None
            offset = (-1 if zone[0] == "-" else 1) * (oh * 60 + om)
        wd, sl = _clock(wall)
        return wall - offset * 60_000, wd, sl
    if _EPOCH.match(value):
        seconds = float(value)
        if not abs(seconds) <= MAX_EPOCH_SECONDS:
            return None
        ms = seconds * 1000
        wd, sl = _clock(int(ms))  # Date truncates towards zero
        return ms, wd, sl
    return None


def _parse_timestamped(file, header, columns, rows, default_location) -> EventLog:
    _require_columns(file, columns, TIMESTAMPED_REQUIRED)
    n_fields = len(header)
    c_user, c_time, c_beh = (columns[c] for c in TIMESTAMPED_REQUIRED)
    c_loc = columns.get("location")
    names, locs = _Interner(), _Interner()
    by_user: Dict[str, list] = {}
    for fields, line in rows:
        if len(fields) != n_fields:
            raise DataError(file, line, None, f"expected {n_fields} fields like the header, found {len(fields)}")
        user = fields[c_user].strip()
        if user == "":
            raise DataError(file, line, "user_id", "empty user_id")
        stamp = fields[c_time].strip()
        time = parse_timestamp(stamp)
        if time is None:
            hint = " (epoch values must be in seconds, not milliseconds)" if _EPOCH.match(stamp) else ""
            raise DataError(
                file, line, "timestamp",
                f'"{stamp}" is not a timestamp: use ISO 8601 like 2024-03-05T14:20:00 (optionally with seconds '
                f"fractions, Z or ±hh:mm) or Unix epoch seconds{hint}",
            )
        beh = fields[c_beh].strip()
        if beh == "":
            raise DataError(file, line, "behavior", "empty behavior")
        loc = (fields[c_loc].strip() if c_loc is not None else "") or default_location
        by_user.setdefault(user, []).append((time[0], names(beh), time[1], time[2], locs(loc)))
    behavior, weekday, slot, location, offsets = [], [], [], [], [0]
    for events in by_user.values():
        events.sort(key=lambda e: e[0])  # stable: ties keep file order
        for _, b, wd, sl, lc in events:
            behavior.append(b)
            weekday.append(wd)
            slot.append(sl)
            location.append(lc)
        offsets.append(len(behavior))
    return _finish("timestamped", names, locs, behavior, weekday, slot, location, list(by_user), [None] * len(by_user), offsets)


def main() -> None:
    """python3 -m trainer.data LOG OUT.npz: parse a log once; every training process then loads the .npz in seconds."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python3 -m trainer.data", description=main.__doc__)
    p.add_argument("log", help="canonical CSV or timestamped log, plain or .gz")
    p.add_argument("out", help="the .npz to write")
    p.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="largest accepted (decompressed) input")
    a = p.parse_args()
    try:
        log = read_log_file(a.log, max_bytes=a.max_bytes)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    save_npz(log, a.out)
    print(f"wrote {a.out}: {log.events:,} events in {len(log.seq_ids):,} sequences, {len(log.names):,} behaviors")


if __name__ == "__main__":
    main()
