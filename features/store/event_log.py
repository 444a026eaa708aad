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
from typing import Any

import pandas as pd
import redis
import redis.cluster

from features.events.frame import validate_frame
from features.events.schema import EVENT_FIELDS
from features.store import keys

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


def _stream_events(client: redis.Redis | redis.cluster.RedisCluster) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    start = "-"
    while True:
        page: list[Any] = list(
            client.xrange(keys.event_stream(), min=start, max="+", count=_PAGE) or []
        )
        if not page:
            break
        for _, entry in page:
            rows.append(json.loads(entry[b"event"]))
        last_id = page[-1][0]
        start = "(" + (last_id.decode() if isinstance(last_id, bytes) else str(last_id))
        if len(page) < _PAGE:
            break
    return pd.DataFrame(rows, columns=list(EVENT_FIELDS))


def read_event_log(
    client: redis.Redis | redis.cluster.RedisCluster | None, data_dir: Path | None
) -> pd.DataFrame:
    """Every logged event (live stream + bulk part files), once each, sorted by time."""
    parts = []
    if data_dir is not None and events_dir(data_dir).is_dir():
        parts += [pd.read_parquet(p) for p in sorted(events_dir(data_dir).glob("*.parquet"))]
    if client is not None:
        parts.append(_stream_events(client))
    parts = [part for part in parts if not part.empty]
    if not parts:
        return validate_frame(pd.DataFrame(columns=list(EVENT_FIELDS)))[0]
    merged = pd.concat([part[list(EVENT_FIELDS)].astype(object) for part in parts])
    frame, _ = validate_frame(merged.reset_index(drop=True), now=float("inf"))
    frame = frame.drop_duplicates("event_id", keep="first")
    return frame.sort_values("ts", kind="stable").reset_index(drop=True)
