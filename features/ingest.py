"""Bulk ingestion: a file of events (and shoppers' declared interests) into the store.

Validation is vectorised over each large batch, which is then applied (one Lua call per
shopper per batch); rejected rows are reported and never stop the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from features.events.frame import validate_frame
from features.events.schema import EventType, Rejection, content_event_id
from features.events.tables import read_table, require_columns
from features.store.event_log import write_event_part
from features.store.online import OnlineFeatureStore

EVENT_REQUIRED_COLUMNS = ("user_id", "type", "ts")
USER_REQUIRED_COLUMNS = ("user_id",)
STRING_COLUMNS: tuple[str, ...] = (
    "event_id",
    "user_id",
    "type",
    "product_id",
    "query",
    "session_id",
)
STRING_COLUMNS += ("brand", "category", "recommendation_id")
BATCH_SIZE = 100_000


@dataclass
class IngestReport:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)  # the first few
    part_file: Path | None = None
    # The rows that passed validation (accepted or duplicate), in the store's own types.
    valid: pd.DataFrame | None = None


USER_STRING_COLUMNS = ("user_id", "region", "age_band")


def read_users(path: Path) -> pd.DataFrame:
    """A shoppers file (ids stay text in a CSV too: "007" is not 7)."""
    frame = read_table(path, field="users", string_columns=USER_STRING_COLUMNS)
    require_columns(frame, USER_REQUIRED_COLUMNS, source=str(path))
    return frame


def read_events(path: Path) -> pd.DataFrame:
    frame = read_table(path, field="events", string_columns=STRING_COLUMNS)
    require_columns(frame, EVENT_REQUIRED_COLUMNS, source=str(path))
    return frame


def interest_events(users: pd.DataFrame, *, source: str = "users") -> pd.DataFrame:
    """Interests declared in a users file, as follow_brand / like_category events at sign-up.

    Ids derive from content, so ingesting the same users file twice changes nothing.
    """
    require_columns(users, USER_REQUIRED_COLUMNS, source=source)
    signup = (
        pd.to_numeric(users["signup_ts"], errors="coerce")
        if "signup_ts" in users.columns
        else pd.Series(np.nan, index=users.index)
    )
    rows: list[dict[str, object]] = []
    for column, kind, target in (
        ("brands_followed", EventType.FOLLOW_BRAND, "brand"),
        ("categories_liked", EventType.LIKE_CATEGORY, "category"),
    ):
        if column not in users.columns:
            continue
        for user_id, ts, names in zip(users["user_id"], signup, users[column], strict=True):
            if names is None or (isinstance(names, float) and np.isnan(names)):
                continue
            for name in list(names):
                rows.append({"user_id": user_id, "type": kind.value, "ts": ts, target: name})
    for row in rows:
        row["event_id"] = content_event_id(
            str(row["user_id"]),
            str(row["type"]),
            None,
            float(row["ts"]),  # type: ignore[arg-type]
            row.get("brand"),
            row.get("category"),
        )
    return pd.DataFrame(rows, columns=["event_id", "user_id", "type", "ts", "brand", "category"])


def read_interest_events(path: Path) -> pd.DataFrame:
    """A users file's declared interests as events: what ``shopmode ingest --users`` stores
    and ``shopmode features --offline --users``, ``train`` and ``evaluate`` replay."""
    return interest_events(read_users(path), source=str(path))


def ingest_frame(
    store: OnlineFeatureStore,
    frame: pd.DataFrame,
    *,
    data_dir: Path | None = None,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[int], None] | None = None,
    keep_rejections: int = 10,
) -> IngestReport:
    """Validate and apply ``frame`` a batch at a time (``on_progress`` hears each batch's
    rows as it lands: a million-row file moves the bar from its first batch); write the
    accepted events as one log part file. Rejection indices are row positions in ``frame``."""
    now = time.time()  # one clock for the whole file: the future guard is the same for all
    report = IngestReport()
    valid_parts: list[pd.DataFrame] = []
    accepted_ids: list[str] = []
    for start in range(0, len(frame), batch_size):
        chunk = frame.iloc[start : start + batch_size]
        valid, rejections = validate_frame(chunk, now=now)
        report.rejected += len(rejections)
        room = keep_rejections - len(report.rejections)
        report.rejections += [replace(r, index=r.index + start) for r in rejections[:room]]
        valid_parts.append(valid)
        applied = store.apply(valid, validated=True)
        report.accepted += applied.accepted
        report.duplicate += applied.duplicate
        accepted_ids += applied.accepted_ids
        if on_progress is not None:
            on_progress(len(chunk))
    report.valid = (
        pd.concat(valid_parts, ignore_index=True) if valid_parts else validate_frame(frame)[0]
    )
    if data_dir is not None and accepted_ids:
        kept = report.valid[report.valid["event_id"].isin(set(accepted_ids))]
        report.part_file = write_event_part(kept, data_dir)
    return report
