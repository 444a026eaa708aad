"""Validating a whole DataFrame of events at once: the rules of ``features.events.schema``,
vectorised.

Pydantic costs ~20 µs a row; a million-row import needs column operations. Columns of
plain strings and numbers take the numpy path; a column holding mixed Python objects
falls back to the scalar check of ``features.events.schema`` cell by cell, so the two
validators cannot drift apart (a property test holds them equal).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from features.events import rules as ev
from features.events.rules import EVENT_FIELDS, EventType
from features.events.schema import Rejection

_PRODUCT_TYPES = np.array(sorted(t.value for t in ev.PRODUCT_EVENT_TYPES), dtype=object)
_NOT_PLAIN = r"[^\x21-\x7e]"
_TYPES = np.array(sorted(t.value for t in EventType), dtype=object)
OUTPUT_DTYPES: dict[str, str] = {
    "ts": "float64",
    "price": "float64",
    "quantity": "Int64",
    "position": "Int64",
}


def _first_reason(conditions: list[np.ndarray], reasons: list[str], size: int) -> np.ndarray:
    """Per row, the reason of the first true condition (None where none holds)."""
    out = np.empty(size, dtype=object)
    for condition, reason in zip(reversed(conditions), reversed(reasons), strict=True):
        out[condition] = reason
    return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].reset_index(drop=True)
    return pd.Series([None] * len(frame), dtype=object)


def _missing(column: pd.Series) -> np.ndarray:
    return np.asarray(column.isna().to_numpy(), dtype=bool)


def _cellwise(
    column: pd.Series, check: Callable[[object], object]
) -> tuple[np.ndarray, np.ndarray]:
    """Values and reasons (None where fine) from the scalar check, cell by cell."""
    values = np.empty(len(column), dtype=object)
    reasons = np.empty(len(column), dtype=object)
    for i, cell in enumerate(column.to_numpy(dtype=object)):
        try:
            values[i] = check(cell)
        except ValueError as exc:
            reasons[i] = str(exc)
    return values, reasons


def _all_strings(column: pd.Series, present: np.ndarray) -> bool:
    if isinstance(column.dtype, pd.StringDtype):
        return True
    if column.dtype != object:
        return False
    cells = column.to_numpy(dtype=object)[present]
    return all(type(cell) is str for cell in cells)


def _check_ids(column: pd.Series, required: np.ndarray, required_reason: str) -> np.ndarray:
    """Reasons for an id column; ``required`` marks rows where a value must be given."""
    reasons = np.empty(len(column), dtype=object)
    missing = _missing(column)
    reasons[missing & required] = required_reason
    present = ~missing
    if not present.any():
        return reasons
    if not _all_strings(column, present):
        _, cell_reasons = _cellwise(column, ev.check_id)
        cell_reasons[missing] = None
        reasons[present] = cell_reasons[present]
        return reasons
    # Printable, non-space ASCII of a valid length needs no look; anything else (rare)
    # goes through the scalar rule itself, so the verdict is the scalar one exactly.
    text = column[present]
    lengths = text.str.len().to_numpy(dtype=np.int64)
    unusual = text.str.contains(_NOT_PLAIN, regex=True).to_numpy(dtype=bool)
    look = unusual | (lengths == 0) | (lengths > ev.MAX_ID_LENGTH)
    found = np.empty(len(text), dtype=object)
    if look.any():
        _, cell_reasons = _cellwise(text[look], ev.check_id)
        found[look] = cell_reasons
    reasons[present] = found
    return reasons


def _numeric_or_cellwise(
    column: pd.Series, check: Callable[[object], object], *, integer: bool
) -> tuple[np.ndarray, np.ndarray]:
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else None
    if isinstance(column.dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(
        column.dtype
    ):
        kind = "f"
    if kind not in ("i", "u", "f"):
        return _cellwise(column, check)
    values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    reasons = np.empty(len(column), dtype=object)
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(values)
        conditions = [present & ~finite]
        choices = [ev.NOT_FINITE]
        if integer:
            conditions.append(present & finite & (np.floor(values) != values))
            choices.append(ev.NOT_AN_INTEGER)
        conditions.append(present & finite & (values < 0))
        choices.append(ev.NEGATIVE)
        if integer:
            conditions.append(present & finite & (values > ev.MAX_COUNT))
            choices.append(ev.TOO_LARGE_COUNT)
    reasons[:] = _first_reason(conditions, choices, len(values))
    out = values.astype(object)
    out[~present] = None
    return out, reasons


def _check_ts(column: pd.Series, now: float) -> tuple[np.ndarray, np.ndarray]:
    if column.dtype.kind in ("i", "u", "f") and isinstance(column.dtype, np.dtype):
        ts = column.to_numpy(dtype=np.float64)
        reasons = np.empty(len(column), dtype=object)
        with np.errstate(invalid="ignore"):
            reasons[:] = _first_reason(
                [
                    np.isnan(ts),
                    ~np.isfinite(ts),
                    ts < ev.EARLIEST_TS,
                    ts > now + ev.FUTURE_TOLERANCE_SECONDS,
                ],
                [ev.REQUIRED, ev.NOT_FINITE, ev.TOO_EARLY, ev.IN_FUTURE],
                len(ts),
            )
        return ts, reasons
    values, reasons = _cellwise(column, lambda cell: ev.check_ts(cell, now))
    ts = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return ts, reasons


def validate_frame(
    frame: pd.DataFrame, now: float | None = None
) -> tuple[pd.DataFrame, list[Rejection]]:
    """The valid rows, normalised to ``EVENT_FIELDS`` (ids filled), and one rejection per bad row.

    Rejection indices are row positions in ``frame``; the surviving rows keep their order.
    """
    now = time.time() if now is None else now
    n = len(frame)
    first_field = np.empty(n, dtype=object)
    first_reason = np.empty(n, dtype=object)
    out: dict[str, np.ndarray] = {}

    def record(field: str, reasons: np.ndarray) -> None:
        new = (first_reason == None) & (reasons != None)  # noqa: E711 (elementwise)
        first_field[new] = field
        first_reason[new] = reasons[new]

    nobody = np.zeros(n, dtype=bool)
    everyone = np.ones(n, dtype=bool)
    types = _column(frame, "type")
    type_values = types.to_numpy(dtype=object)
    type_missing = _missing(types)
    known_type = np.isin(type_values, _TYPES) & ~type_missing
    type_reasons = _first_reason(
        [type_missing, ~known_type], [ev.REQUIRED, ev.UNKNOWN_TYPE], len(type_values)
    )
    for name in EVENT_FIELDS:
        column = _column(frame, name)
        if name == "type":
            record(name, type_reasons)
            out[name] = type_values
        elif name in ("event_id", "user_id", "session_id", "recommendation_id"):
            required = everyone if name == "user_id" else nobody
            record(name, _check_ids(column, required, ev.REQUIRED))
            out[name] = column.to_numpy(dtype=object)
        elif name in ("product_id", "brand", "category"):
            target = {
                "product_id": np.isin(type_values, _PRODUCT_TYPES),
                "brand": type_values == EventType.FOLLOW_BRAND.value,
                "category": type_values == EventType.LIKE_CATEGORY.value,
            }[name]
            reasons = _check_ids(column, known_type & target, "")
            blank_required = reasons == ""
            for event_type in np.unique(type_values[blank_required]):
                rows = blank_required & (type_values == event_type)
                reasons[rows] = ev.required_for(str(event_type))
            record(name, reasons)
            out[name] = column.to_numpy(dtype=object)
        elif name == "ts":
            out[name], reasons = _check_ts(column, now)
            record(name, reasons)
        elif name == "price":
            out[name], reasons = _numeric_or_cellwise(column, ev.check_amount, integer=False)
            record(name, reasons)
        elif name in ("quantity", "position"):
            out[name], reasons = _numeric_or_cellwise(column, ev.check_count, integer=True)
            record(name, reasons)
        elif name == "query":
            lengths = column.astype(object).str.len().to_numpy(dtype=np.float64, na_value=np.nan)
            if _all_strings(column, ~_missing(column)):
                reasons = _first_reason([lengths > ev.MAX_QUERY_LENGTH], [ev.TOO_LONG_QUERY], n)
            else:
                _, reasons = _cellwise(column, ev.check_query)
            record(name, reasons)
            out[name] = column.to_numpy(dtype=object)

    bad = first_reason != None  # noqa: E711 (elementwise)
    rejections = [
        Rejection(int(i), str(first_field[i]), str(first_reason[i])) for i in np.flatnonzero(bad)
    ]
    good = ~bad
    result = pd.DataFrame({name: out[name][good] for name in EVENT_FIELDS})
    for name in EVENT_FIELDS:
        if name in OUTPUT_DTYPES:
            result[name] = result[name].astype(OUTPUT_DTYPES[name])  # type: ignore[call-overload]
        else:
            column = result[name].astype(object)
            result[name] = column.where(column.notna(), None)
    _fill_event_ids(result)
    return result, rejections


def _fill_event_ids(frame: pd.DataFrame) -> None:
    missing = np.flatnonzero(frame["event_id"].isna().to_numpy())
    if len(missing) == 0:
        return
    ids = frame["event_id"].to_numpy(dtype=object).copy()
    columns = [frame[c].to_numpy(dtype=object) for c in _ID_CONTENT]
    for i in missing:
        user, kind, product, ts, *rest = (column[i] for column in columns)
        ids[i] = ev.content_event_id(user, kind, product, ts, *(_plain(v) for v in rest))
    frame["event_id"] = pd.Series(ids, index=frame.index, dtype=object)


_ID_CONTENT: tuple[str, ...] = ("user_id", "type", "product_id", "ts", "query", "session_id")
_ID_CONTENT += ("position", "brand", "category", "recommendation_id", "price", "quantity")


def _plain(value: object) -> object:
    """numpy/pandas scalars as the Python values ``Event`` would hold."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    return value
