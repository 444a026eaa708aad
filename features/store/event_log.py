"""The raw event log, kept so the model can be retrained from what the service saw.

Live events go to a capped Redis stream (written by the online store with each accepted
batch); bulk ingests write Parquet part files under ``<data_dir>/events/``.
``read_event_log`` merges both, deduplicated by ``event_id``.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pandas as pd

from features.events.frame import validate_frame
from features.events.schema import EVENT_FIELDS
from features.store import keys
from features.store.calls import Flow, command, text
from features.store.runner import SyncRunner

_PAGE = 10_000


def events_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "events"


def write_event_part(frame: pd.DataFrame, data_dir: Path) -> Path | None:
    """Write accepted events as one Parquet part file; None when there are none."""
    if frame.empty:
        return None
    folder = events_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.blake2b("".join(frame["event_id"]).encode(), digest_size=6).hexdigest()
    path = folder / f"part-{time.time_ns()}-{digest}.parquet"
    staging = path.with_suffix(".tmp")
    frame[list(EVENT_FIELDS)].to_parquet(staging, index=False)
    staging.rename(path)  # readers never see half a file
    return path


def live_events(page: int = _PAGE) -> Flow[pd.DataFrame]:
    """Every event in the live stream, oldest first, ``page`` entries per round trip."""
    rows: list[dict[str, object]] = []
    start = "-"
    while True:
        (entries,) = yield [command("XRANGE", keys.event_stream(), start, "+", "COUNT", page)]
        entries = list(entries or [])
        for _, entry in entries:
            rows.append(json.loads(entry[b"event"]))
        if len(entries) < page:
            break
        start = "(" + text(entries[-1][0])
    return pd.DataFrame(rows, columns=list(EVENT_FIELDS))


def read_event_log(store: SyncRunner | None, data_dir: Path | None) -> pd.DataFrame:
    """Every logged event (live stream + bulk part files), once each, sorted by time."""
    parts = []
    if data_dir is not None and events_dir(data_dir).is_dir():
        parts += [pd.read_parquet(p) for p in sorted(events_dir(data_dir).glob("*.parquet"))]
    if store is not None:
        parts.append(store.run(live_events()))
    parts = [part for part in parts if not part.empty]
    if not parts:
        return validate_frame(pd.DataFrame(columns=list(EVENT_FIELDS)))[0]
    merged = pd.concat([part[list(EVENT_FIELDS)].astype(object) for part in parts])
    frame, _ = validate_frame(merged.reset_index(drop=True), now=float("inf"))
    frame = frame.drop_duplicates("event_id", keep="first")
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)
