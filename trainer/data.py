"""Behavior logs (src/core/data.ts and src/node/data.ts): the canonical CSV and the timestamped
log, plain or gzip, with the same rules and error messages. Events are held column-wise
(numpy arrays of name indices) so a log of 10^7+ events fits in memory.

- canonical:   sequence_id,step,weekday,time_slot,behavior[,split][,location] (any order);
- timestamped: user_id,timestamp,behavior[,location], one sequence per user in time order;
  weekday and slot from the wall-clock time as written (TIMESTAMP_TIMEZONE_RULE in data.ts).
"""
from __future__ import annotations

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
    warnings: List[str] = field(default_factory=list)  # accepted, but worth checking (file and line named)

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


MAX_ROW_CHARS = 64 * 1024
MAX_NAME_CHARS = 256
RESERVED_BEHAVIORS = ("<pad>", "<bos>", "<unk>")
PLAUSIBLE_YEARS = (1990, 2100)
_BREAK = re.compile(r"(\r\n|\r|\n)")


class _CsvError(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


def _decode_utf8(data: bytes, file: str) -> str:
    """UTF-8 with a leading BOM dropped; errors name the line (breaks: \n, \r\n, \r) as LogParser does."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.reason == "unexpected end of data" and e.end == len(data):
            valid = data[: e.start].decode("utf-8")
            line = 1 + len(_BREAK.findall(valid))
            raise DataError(file, line, None, "not valid UTF-8 text: the file ends inside a character (save the file as UTF-8; was it cut off?)") from None
        line = 1
        for chunk in re.split(rb"\r\n|\r|\n", data):
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError:
                break
            line += 1
        raise DataError(file, line, None, "not valid UTF-8 text (save the file as UTF-8)") from None


def _csv_rows(text: str, max_row_chars: int = MAX_ROW_CHARS):
    """(fields, physical start line) per row, as core/csv.ts's CsvReader: RFC 4180 quoting, `\n`,
    `\r\n` and a lone `\r` each end a line, blank lines skipped, rows longer than the limit refused.
    Lines without a quote take a fast path (a plain split)."""
    parts = _BREAK.split(text)
    n = len(parts)
    i = 0
    line = 1
    while i < n:
        segment = parts[i]
        row_line = line
        if '"' not in segment:
            fields = segment.split(",")
            if len(segment) - len(fields) + 1 > max_row_chars:
                raise _CsvError(row_line, f"the row is longer than {max_row_chars:,} characters")
            i += 2
            line += 1
            if i - 1 >= n and segment == "":
                return  # the text ended with a line break
            if len(fields) == 1 and fields[0].strip() == "":
                continue
            yield fields, row_line
            continue
        # A row with quotes: CsvReader's state machine, over as many physical lines as its quoted fields span.
        fields: List[str] = []
        field: List[str] = []
        chars = 0
        in_quotes = after_quote = False
        field_start = True
        quote_line = line
        while True:
            k = 0
            seg = parts[i]
            m = len(seg)
            while k < m:
                if chars > max_row_chars:
                    raise _CsvError(row_line, f"the row is longer than {max_row_chars:,} characters")
                if in_quotes:
                    q = seg.find('"', k)
                    end = m if q < 0 else q
                    field.append(seg[k:end])
                    chars += end - k
                    if q < 0:
                        k = m
                        break
                    if q + 1 < m and seg[q + 1] == '"':
                        field.append('"')
                        chars += 1
                        k = q + 2
                    else:
                        in_quotes, after_quote = False, True
                        k = q + 1
                    continue
                c = seg[k]
                if c == ",":
                    fields.append("".join(field))
                    field, field_start, after_quote = [], True, False
                    k += 1
                elif c == '"' and field_start:
                    in_quotes, field_start, quote_line = True, False, line
                    k += 1
                elif after_quote:
                    raise _CsvError(line, "unexpected text after the closing quote of a quoted field")
                else:
                    j = seg.find(",", k)
                    j = m if j < 0 else j
                    field_start = False
                    field.append(seg[k:j])
                    chars += j - k
                    k = j
            if chars > max_row_chars:
                raise _CsvError(row_line, f"the row is longer than {max_row_chars:,} characters")
            has_break = i + 1 < n
            if in_quotes:
                if not has_break:
                    raise _CsvError(quote_line, 'a quoted field is never closed (missing `"`)')
                brk = parts[i + 1]
                field.append(brk)
                chars += len(brk)
                line += 1
                i += 2
                continue
            break
        fields.append("".join(field))
        i += 2
        line += 1
        if len(fields) == 1 and fields[0].strip() == "":
            continue
        yield fields, row_line


_INT = re.compile(r"^[+-]?[0-9]+$")


def parse_behavior_log(data, file: str, max_bytes: int = DEFAULT_MAX_BYTES, default_location: str = UNKNOWN_LOCATION,
                       epoch_unit: str = "seconds", max_row_chars: int = MAX_ROW_CHARS) -> EventLog:
    """parseBehaviorLog (LogParser): a complete EventLog (with `warnings`) or a DataError; nothing is half-loaded."""
    if isinstance(data, str):
        if len(data) > max_bytes:
            raise DataError(file, None, None, f"the file is larger than the {format_bytes(max_bytes)} limit")
        text = data[1:] if data.startswith("\ufeff") else data
    else:
        if len(data) > max_bytes:
            raise DataError(file, None, None, f"file is {format_bytes(len(data))}, larger than the {format_bytes(max_bytes)} limit")
        text = _decode_utf8(data, file)
    rows = _csv_rows(text, max_row_chars)
    try:
        first = next(rows, None)
        if first is None:
            raise DataError(file, None, None, "the file is empty")
        header_fields, header_line = first
        header = [h.strip().lower() for h in header_fields]
        columns: Dict[str, int] = {}
        for i, name in enumerate(header):
            if name in columns:
                raise DataError(file, header_line, name, f'column "{name}" appears twice in the header')
            columns[name] = i
        if "sequence_id" in columns:
            handler = _Canonical(file, header, columns, header_line, default_location)
        elif "user_id" in columns or "timestamp" in columns:
            handler = _Timestamped(file, header, columns, header_line, default_location, epoch_unit)
        else:
            raise DataError(
                file, header_line, None,
                f'unrecognized header "{",".join(header_fields)}": expected the columns '
                f'{",".join(CANONICAL_REQUIRED)}[,split][,location] or {",".join(TIMESTAMPED_REQUIRED)}[,location]',
            )
        last = None
        for fields, line in rows:
            handler.add(fields, line)
            last = (fields, line)
    except _CsvError as e:
        raise DataError(file, e.line, None, f"malformed CSV: {e.problem}") from None
    if last is None:
        raise DataError(file, None, None, "the file has a header row but no data rows")
    if not (text == "" or text.endswith(("\n", "\r"))):
        handler.check_last_row(*last)
    return handler.finish()


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


class _Handler:
    """rowReader + the shared row rules of core/data.ts (names, reserved behaviors, cut-off last row)."""

    required: Sequence[str] = ()

    def __init__(self, file: str, header: List[str], columns: Dict[str, int], header_line: int, default_location: str) -> None:
        self.file, self.header, self.columns, self.width, self.default_location = file, header, columns, len(header), default_location
        for name in self.required:
            if name not in columns:
                raise DataError(file, header_line, name, f'the header has no "{name}" column (required: {",".join(self.required)})')
        self.names, self.locs = _Interner(), _Interner()
        self.warnings: List[str] = []
        self.last_column = header[-1]
        self.last_counts: Optional[Dict[str, int]] = {} if self.last_column in ("behavior", "location") else None

    def fields(self, fields: List[str], line: int) -> List[str]:
        if len(fields) != self.width:
            raise DataError(self.file, line, None, f"expected {self.width} fields like the header, found {len(fields)}")
        return [f.strip() for f in fields]

    def name(self, value: str, line: int, fld: str) -> str:
        if value == "":
            raise DataError(self.file, line, fld, f"empty {fld}")
        if len(value) > MAX_NAME_CHARS:
            raise DataError(self.file, line, fld, f"a {fld} of {len(value):,} characters is longer than the {MAX_NAME_CHARS}-character limit")
        return value

    def behavior(self, value: str, line: int) -> int:
        b = self.name(value, line, "behavior")
        if b in RESERVED_BEHAVIORS:
            raise DataError(self.file, line, "behavior", f'"{b}" is a name the model reserves for its own tokens, not a behavior')
        return self.names(b)

    def location(self, value: Optional[str], line: int) -> int:
        return self.locs(self.name(value, line, "location") if value else self.default_location)

    def count_last(self, row: List[str]) -> None:
        if self.last_counts is not None:
            v = row[self.width - 1]
            self.last_counts[v] = self.last_counts.get(v, 0) + 1

    def check_last_row(self, fields: List[str], line: int) -> None:
        """A file without a final line break may be cut off inside its last value (LogParser.checkLastRow)."""
        from .vocab import js_order

        column = self.header[len(fields) - 1]
        value = fields[-1].strip() if fields else ""
        if value == "" or self.last_counts is None or column != self.last_column or self.last_counts.get(value, 0) > 1:
            return
        longer = [v for v in self.last_counts if v != value and v.startswith(value)]
        if longer:
            first = min(longer, key=js_order)
            raise DataError(self.file, line, column, f'"{value}" looks cut off (the file does not end with a line break, and "{first}" appears on other lines): was the file truncated?')
        self.warnings.append(f'{self.file}: line {line}, field "{column}": the file does not end with a line break and "{value}" appears on no other line; check that the file is complete')


class _Canonical(_Handler):
    required = CANONICAL_REQUIRED

    def __init__(self, *a) -> None:
        super().__init__(*a)
        c = self.columns
        self.c_id, self.c_step, self.c_wd, self.c_slot, self.c_beh = (c[k] for k in CANONICAL_REQUIRED)
        self.c_split, self.c_loc = c.get("split"), c.get("location")
        self.behavior_ids: List[int] = []
        self.weekday: List[int] = []
        self.slot: List[int] = []
        self.location_ids: List[int] = []
        self.seq_ids: List[str] = []
        self.seq_splits: List[Optional[str]] = []
        self.offsets: List[int] = [0]
        self.seen = set()
        self.current: Optional[str] = None
        self.current_split: Optional[str] = None
        self.split_line = 0
        self.steps = 0

    def add(self, raw: List[str], line: int) -> None:
        file = self.file
        row = self.fields(raw, line)
        step = _int_field(row[self.c_step], 0, MAX_SAFE_INTEGER, file, line, "step", "a step (an integer from 0)")
        wd = _int_field(row[self.c_wd], 0, NUM_WEEKDAYS - 1, file, line, "weekday", "a weekday (0–6, Monday = 0)")
        sl = _int_field(row[self.c_slot], 0, NUM_SLOTS - 1, file, line, "time_slot", "a time slot (0–7, three-hour bins)")
        beh = self.behavior(row[self.c_beh], line)
        loc = self.location(row[self.c_loc] if self.c_loc is not None else None, line)
        split: Optional[str] = None
        if self.c_split is not None:
            split = row[self.c_split]
            if split not in SPLITS:
                raise DataError(file, line, "split", f'"{split}" is not a split (train, valid or test)')
        self.count_last(row)
        sid = row[self.c_id]
        if self.current is None or sid != self.current:
            self.name(sid, line, "sequence_id")
            if sid in self.seen:
                raise DataError(file, line, "sequence_id", f'sequence "{sid}" appears again after other sequences; the rows of a sequence must be contiguous')
            if step != 0:
                raise DataError(file, line, "step", f'sequence "{sid}" starts at step {step}, not 0')
            self.seen.add(sid)
            if self.current is not None:
                self.offsets.append(len(self.behavior_ids))
            self.current, self.current_split, self.split_line, self.steps = sid, split, line, 0
            self.seq_ids.append(sid)
            self.seq_splits.append(split)
        else:
            if step != self.steps:
                raise DataError(file, line, "step", f'step {step} follows step {self.steps - 1} in sequence "{sid}"')
            if split != self.current_split:
                raise DataError(file, line, "split", f'sequence "{sid}" is in split "{_js(self.current_split)}" on line {self.split_line} but "{_js(split)}" here; a sequence has one split')
        self.steps += 1
        self.behavior_ids.append(beh)
        self.weekday.append(wd)
        self.slot.append(sl)
        self.location_ids.append(loc)

    def finish(self) -> EventLog:
        self.offsets.append(len(self.behavior_ids))
        return _finish("canonical", self.names, self.locs, self.behavior_ids, self.weekday, self.slot, self.location_ids,
                       self.seq_ids, self.seq_splits, self.offsets, self.warnings)


def _js(value: Optional[str]) -> str:
    return "undefined" if value is None else value


def _finish(fmt, names, locs, behavior, weekday, slot, location, seq_ids, seq_splits, offsets, warnings=()) -> EventLog:
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
        warnings=list(warnings),
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


def parse_timestamp(value: str, epoch_unit: str = "seconds"):
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
        ms = float(value) * 1000 if epoch_unit == "seconds" else float(value)
        if not abs(ms) <= MAX_EPOCH_SECONDS * 1000:
            return None
        wd, sl = _clock(int(ms))  # Date truncates towards zero
        return ms, wd, sl
    return None


class _Timestamped(_Handler):
    required = TIMESTAMPED_REQUIRED

    def __init__(self, file, header, columns, header_line, default_location, epoch_unit: str) -> None:
        super().__init__(file, header, columns, header_line, default_location)
        if epoch_unit not in ("seconds", "milliseconds"):
            raise ValueError(f'epoch unit "{epoch_unit}" is not seconds or milliseconds')
        self.epoch_unit = epoch_unit
        c = self.columns
        self.c_user, self.c_time, self.c_beh = (c[k] for k in TIMESTAMPED_REQUIRED)
        self.c_loc = c.get("location")
        self.by_user: Dict[str, list] = {}
        lo, hi = PLAUSIBLE_YEARS
        self.plausible = (_days_from_civil(lo, 1, 1) * _DAY_MS, _days_from_civil(hi, 1, 1) * _DAY_MS)
        self.implausible: Optional[list] = None

    def add(self, raw: List[str], line: int) -> None:
        file, unit = self.file, self.epoch_unit
        row = self.fields(raw, line)
        user = row[self.c_user]
        stamp = row[self.c_time]
        time = parse_timestamp(stamp, unit)
        if time is None:
            hint = (" (this number is too large for seconds: if it is in milliseconds, choose milliseconds as the unit)"
                    if _EPOCH.match(stamp) and unit == "seconds" else "")
            raise DataError(
                file, line, "timestamp",
                f'"{stamp}" is not a timestamp: use ISO 8601 like 2024-03-05T14:20:00 (optionally with seconds '
                f"fractions, Z or ±hh:mm) or Unix epoch {unit}{hint}",
            )
        if _EPOCH.match(stamp) and not (self.plausible[0] <= time[0] < self.plausible[1]):
            if self.implausible is None:
                self.implausible = [0, line, stamp]
            self.implausible[0] += 1
        beh = self.behavior(row[self.c_beh], line)
        loc = self.location(row[self.c_loc] if self.c_loc is not None else None, line)
        self.count_last(row)
        events = self.by_user.get(user)
        if events is None:
            self.name(user, line, "user_id")
            events = self.by_user[user] = []
        events.append((time[0], beh, time[1], time[2], loc))

    def finish(self) -> EventLog:
        if self.implausible is not None:
            count, line, value = self.implausible
            unit = self.epoch_unit
            other = "milliseconds" if unit == "seconds" else "seconds"
            self.warnings.append(
                f"{self.file}: {count:,} epoch timestamp{'' if count == 1 else 's'} read as {unit} fall outside "
                f"{PLAUSIBLE_YEARS[0]}–{PLAUSIBLE_YEARS[1]} (first on line {line}: \"{value}\"); if they are in {other}, choose {other} as the unit")
        behavior, weekday, slot, location, offsets = [], [], [], [], [0]
        for events in self.by_user.values():
            events.sort(key=lambda e: e[0])  # stable: ties keep file order
            for _, b, wd, sl, lc in events:
                behavior.append(b)
                weekday.append(wd)
                slot.append(sl)
                location.append(lc)
            offsets.append(len(behavior))
        return _finish("timestamped", self.names, self.locs, behavior, weekday, slot, location, list(self.by_user), [None] * len(self.by_user),
                       offsets, self.warnings)


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
