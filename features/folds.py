"""The four folds both engines apply to contributions, in numpy: decayed log-sums, window
counts (packed per bucket), the latest recent interaction per product, and group codes."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from features.definitions import COUNTED_TYPES


def group_codes(frame: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, its group among the distinct ``by`` values (numbered in order of first
    appearance, like ``groupby(sort=False)``; -1 for a missing key, which groupby drops),
    and the first row of each group."""
    codes = np.zeros(len(frame), dtype=np.int64)
    missing = np.zeros(len(frame), dtype=bool)
    for column in by:
        own, uniques = pd.factorize(frame[column], sort=False)
        missing |= own < 0
        codes = codes * (len(uniques) + 1) + own
    codes, _ = pd.factorize(codes, sort=False)
    codes = codes.astype(np.int64)
    codes[missing] = -1
    present = np.flatnonzero(~missing)
    _, first = np.unique(codes[present], return_index=True)
    return codes, present[first]


def log_sum(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Fold decayed contributions: ``exponent`` becomes log2 Σ 2^exponent per group."""
    if frame.empty:
        return frame[[*by, "exponent"]].copy()
    # Plain numpy on group codes: a pandas groupby costs ~1 ms of fixed overhead, paid
    # several times per batch of live events.
    codes, first = group_codes(frame, by)
    exponent = frame["exponent"].to_numpy(dtype=np.float64)
    present = codes >= 0
    codes, exponent = codes[present], exponent[present]
    peak = np.full(len(first), -np.inf)
    np.maximum.at(peak, codes, exponent)
    scaled = np.bincount(codes, weights=np.exp2(exponent - peak[codes]), minlength=len(first))
    return _firsts(frame, by, first, exponent=peak + np.log2(scaled))


def _firsts(
    frame: pd.DataFrame, by: list[str], first: np.ndarray, **values: object
) -> pd.DataFrame:
    """The ``by`` columns at rows ``first``, plus ``values``, as a new frame."""
    columns: dict[str, object] = {}
    for column in by:
        cells = frame[column].to_numpy()[first]
        columns[column] = pd.Series(cells, dtype=object) if cells.dtype == object else cells
    return pd.DataFrame(columns | values)


def pack_counts(counts: list[int]) -> str:
    """A window bucket's counts per type as text, trailing zeros dropped: ``"3,1,0,2"``."""
    return _packed(tuple(counts))


@functools.lru_cache(maxsize=4096)
def _packed(counts: tuple[int, ...]) -> str:
    # Few distinct tallies recur (a bucket holds a handful of events): cached.
    last = len(counts)
    while last > 1 and counts[last - 1] == 0:
        last -= 1
    return ",".join(str(c) for c in counts[:last])


def unpack_counts(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part]
    return values + [0] * (len(COUNTED_TYPES) - len(values))


def window_counts(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Fold window contributions: one packed ``counts`` string per group (``by`` + field)."""
    keys = [*by, "field"]
    if frame.empty:
        return pd.DataFrame({key: pd.Series(dtype=object) for key in [*keys, "counts"]})
    group, first = group_codes(frame, keys)
    present = group >= 0
    tally = np.zeros((len(first), len(COUNTED_TYPES)), dtype=np.int64)
    np.add.at(tally, (group[present], frame["kind"].to_numpy(dtype=np.int64)[present]), 1)
    counts = pd.Series([_packed(tuple(row)) for row in tally.tolist()], dtype=object)
    return _firsts(frame, keys, first, counts=counts)


def recent_member(rank: int, product_id: str) -> str:
    """The recent sorted set's member: the interaction rank, then the product id."""
    return f"{rank}{product_id}"


def latest_recent(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per product the latest interaction; at equal times the stronger kind wins."""
    ordered = frame.sort_values(["ts", "rank"], kind="stable")
    return ordered.drop_duplicates(by, keep="last")
