"""Applying a batch of validated events to the online store, as a flow (see ``flows``).

Applying a batch takes two pipelined round trips: the user scripts decide, atomically per
shopper, which events are new (dedup lives in the shopper's slot); then products, rankings
and the live log receive only those. A shopper whose batch mixes seen and unseen events
costs one more round trip for that shopper.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.catalog import Catalog
from features.contributions import contributions
from features.definitions import (
    CATEGORY_RANK_CAP,
    MEMBER_CAP,
    RECENT_CAP,
    TIME_ORIGIN,
    WINDOWS,
    Contributions,
)
from features.events.schema import EVENT_FIELDS
from features.folds import group_codes, latest_recent, log_sum, window_counts
from features.state import N_SLOTS
from features.store import keys
from features.store.calls import Call, Flow, command, script
from features.store.owned import history_members
from features.store.state_fields import LAYOUT, packed_slot

_WINDOW_SPEC = ",".join(f"{w.code}:{w.bucket_seconds}:{w.buckets}" for w in WINDOWS)


@dataclass(frozen=True)
class StoreConfig:
    """Retention of the online store (from ``Settings``; defaults fit the demo)."""

    user_ttl_seconds: int = 90 * 86_400
    product_ttl_seconds: int = 180 * 86_400
    dedup_horizon_seconds: float = 30 * 86_400.0
    stream_maxlen: int = 1_000_000
    log_live_events: bool = True

    @classmethod
    def from_settings(cls, settings: Any, *, log_live_events: bool = True) -> StoreConfig:
        """From ``service.settings.Settings`` (duck-typed: features never imports service)."""
        return cls(
            user_ttl_seconds=round(settings.user_ttl_days * 86_400),
            product_ttl_seconds=round(settings.product_ttl_days * 86_400),
            dedup_horizon_seconds=float(settings.dedup_horizon_days) * 86_400,
            stream_maxlen=int(settings.event_stream_maxlen),
            log_live_events=log_live_events,
        )


@dataclass
class ApplyReport:
    accepted: int = 0
    duplicate: int = 0
    accepted_ids: list[str] = field(default_factory=list)

    def __add__(self, other: ApplyReport) -> ApplyReport:
        return ApplyReport(
            self.accepted + other.accepted,
            self.duplicate + other.duplicate,
            self.accepted_ids + other.accepted_ids,
        )


def _num(value: float) -> str:
    return repr(float(value))


def _rows_of(table: pd.DataFrame, keep: np.ndarray | None) -> pd.DataFrame:
    return table if keep is None else table[keep[table["row"].to_numpy()]]


def _by_user(frame: pd.DataFrame, columns: list[str], kinds: str) -> dict[str, list[Any]]:
    """Per shopper, the rows' script arguments back to back, formatted by ``kinds``
    (one letter per column: ``e``/``t`` float, ``f`` text, ``n`` as is)."""
    values: list[list[Any]] = []
    for column, kind in zip(columns, kinds, strict=True):
        cells = frame[column].tolist()
        if kind in "et":
            cells = [repr(float(v)) for v in cells]
        elif kind == "f":
            cells = [str(v) for v in cells]
        values.append(cells)
    grouped: dict[str, list[Any]] = {}
    for user, *row in zip(frame["user_id"].tolist(), *values, strict=True):
        grouped.setdefault(user, []).extend(row)
    return grouped


def _user_calls(
    batch: pd.DataFrame,
    c: Contributions,
    hashes: list[bytes],
    rows: np.ndarray,
    config: StoreConfig,
) -> list[tuple[str, np.ndarray, Call]]:
    """One ``user_apply`` call per shopper among ``rows`` of ``batch``."""
    keep = None
    if len(rows) < len(batch):
        keep = np.zeros(len(batch), dtype=bool)
        keep[rows] = True
    decayed = log_sum(_rows_of(c.decayed, keep), ["user_id", "field"])
    slots = [packed_slot(name) for name in decayed["field"].tolist()]
    decayed = decayed.assign(
        packed=pd.Series([stored for stored, _ in slots], dtype=object, index=decayed.index),
        slot=[slot for _, slot in slots],
    )
    windows = window_counts(_rows_of(c.windows, keep), ["user_id"])
    recent = latest_recent(_rows_of(c.recent, keep), ["user_id", "product_id"])
    members = _latest(_rows_of(c.members, keep))
    parts = (
        (3, _by_user(decayed, ["packed", "slot", "exponent"], "fne")),
        (2, _by_user(windows, ["field", "counts"], "ff")),
        (3, _by_user(recent, ["product_id", "rank", "ts"], "fnt")),
        (2, _by_user(members, ["field", "ts"], "ft")),
    )
    users = batch["user_id"].to_numpy(dtype=object)[rows]
    ts = batch["ts"].to_numpy(dtype=np.float64)[rows]
    history = history_members(batch, rows)
    offsets = np.floor(ts - TIME_ORIGIN).astype(np.int64).tolist()
    head = (
        config.user_ttl_seconds,
        _num(config.dedup_horizon_seconds),
        RECENT_CAP,
        MEMBER_CAP,
        _WINDOW_SPEC,
        _num(TIME_ORIGIN),
        LAYOUT,
    )
    own_rows: dict[str, list[int]] = {}
    for i, user in enumerate(users.tolist()):
        own_rows.setdefault(user, []).append(i)
    calls = []
    for user, positions in own_rows.items():
        newest = _num(max(ts[positions]))
        args: list[Any] = [*head, newest, len(positions)]
        for i in positions:
            args += [hashes[rows[i]], offsets[i]]
        for width, part in parts:
            found = part.get(user, [])
            args.append(len(found) // width)
            args += found
        bought_or_seen = history.get(user, [])
        args += [len(bought_or_seen), *bought_or_seen]
        call = script("user_apply", keys.user_keys(user), args)
        calls.append((user, rows[positions], call))
    return calls


def _latest(members: pd.DataFrame) -> pd.DataFrame:
    """Per (shopper, field) the latest time: user_id, field, ts."""
    if members.empty:
        return pd.DataFrame({"user_id": [], "field": [], "ts": []})
    codes, first = group_codes(members, ["user_id", "field"])
    latest = np.full(len(first), -np.inf)
    present = codes >= 0
    np.maximum.at(latest, codes[present], members["ts"].to_numpy(dtype=np.float64)[present])
    return pd.DataFrame(
        {
            "user_id": members["user_id"].to_numpy(dtype=object)[first],
            "field": members["field"].to_numpy(dtype=object)[first],
            "ts": latest,
        }
    )


def _entity_calls(
    batch: pd.DataFrame, c: Contributions, rows: np.ndarray, config: StoreConfig
) -> list[Call]:
    """Product vectors, rankings and the live log, for accepted events only."""
    keep = None
    if len(rows) < len(batch):
        keep = np.zeros(len(batch), dtype=bool)
        keep[rows] = True
    # Grouped with dicts over plain lists: per-group pandas calls cost more than the
    # arithmetic on batches of live events.
    calls = []
    products = log_sum(_rows_of(c.products, keep), ["product_id", "slot"])
    vectors: dict[str, list[Any]] = {}
    for product_id, slot, exponent in zip(
        products["product_id"].tolist(),
        products["slot"].tolist(),
        products["exponent"].tolist(),
        strict=True,
    ):
        vectors.setdefault(product_id, []).extend((slot, _num(exponent)))
    for product_id, pairs in vectors.items():
        args = (config.product_ttl_seconds, N_SLOTS, *pairs)
        calls.append(script("product_apply", [keys.product_stats(str(product_id))], args))
    rankings = _rows_of(c.rankings, keep)
    ranked = log_sum(rankings, ["category", "product_id"])
    overall = log_sum(rankings, ["product_id"])
    boards: dict[str, list[Any]] = {}
    for category, product_id, exponent in zip(
        ranked["category"].tolist(),
        ranked["product_id"].tolist(),
        ranked["exponent"].tolist(),
        strict=True,
    ):
        boards.setdefault(keys.category_popular(str(category)), []).extend(
            (str(product_id), _num(exponent))
        )
    if len(overall):
        everything = zip(overall["product_id"].tolist(), overall["exponent"].tolist(), strict=True)
        boards[keys.all_popular()] = [x for p, e in everything for x in (str(p), _num(e))]
    for key, members in boards.items():
        calls.append(script("rank_apply", [key], [CATEGORY_RANK_CAP, *members]))
    if config.log_live_events:
        columns = [batch[name].to_numpy(dtype=object)[rows].tolist() for name in EVENT_FIELDS]
        for values in zip(*columns, strict=True):
            entry = json.dumps(
                {k: _plain(v) for k, v in zip(EVENT_FIELDS, values, strict=True) if not _absent(v)}
            )
            calls.append(
                command(
                    "XADD",
                    keys.event_stream(),
                    "MAXLEN",
                    "~",
                    config.stream_maxlen,
                    "*",
                    "event",
                    entry,
                )
            )
    return calls


def _absent(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _plain(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def apply_flow(batch: pd.DataFrame, catalog: Catalog, config: StoreConfig) -> Flow[ApplyReport]:
    """Apply validated events (``EVENT_FIELDS`` frame) and return an ``ApplyReport``."""
    if batch.empty:
        return ApplyReport()
    batch = batch.reset_index(drop=True)
    repeated = batch["event_id"].duplicated().to_numpy()
    report = ApplyReport(duplicate=int(repeated.sum()))
    c = contributions(batch, catalog)
    hashes = [keys.event_hash(event_id) for event_id in batch["event_id"].tolist()]
    pending = np.flatnonzero(~repeated)
    accepted: list[np.ndarray] = []
    while len(pending):
        calls = _user_calls(batch, c, hashes, pending, config)
        replies = yield [call for _, _, call in calls]
        retry: list[np.ndarray] = []
        for (_, rows, _), reply in zip(calls, replies, strict=True):
            status = int(reply[0])
            if status == 1:
                accepted.append(rows)
            elif status == 0:
                report.duplicate += len(rows)
            else:
                seen = np.array([int(flag) for flag in reply[1:]], dtype=bool)
                report.duplicate += int(seen.sum())
                retry.append(rows[~seen])
        pending = np.concatenate(retry) if retry else np.empty(0, dtype=np.int64)
    if accepted:
        rows = np.sort(np.concatenate(accepted))
        yield _entity_calls(batch, c, rows, config)
        report.accepted = len(rows)
        report.accepted_ids = batch["event_id"].to_numpy(dtype=object)[rows].tolist()
    return report
