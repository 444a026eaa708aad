"""The offline engine: replays an event log through ``features.definitions`` as of any time.

``user_state(user, at)`` and ``product_features(at)`` equal what the online engine held
at ``at`` (events with ts ≤ at), up to float rounding. For training, ``user_states_at``
and ``product_features_at`` sweep the log once in time order over many decision points.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalog import Catalog
from features.definitions import (
    COUNTED_TYPES,
    MEMBER_CAP,
    RECENT_CAP,
    Contributions,
    contributions,
    latest_recent,
    log_sum,
    pack_counts,
    recent_member,
    window_counts,
)
from features.event_frame import validate_frame
from features.events import EVENT_FIELDS
from features.state import N_SLOTS, ProductFeatures, UserState, decode_user_state

_DECAYED, _WINDOW, _RECENT, _MEMBER = 0, 1, 2, 3
RawUser = tuple[dict[str, float | str], list[tuple[str, float]]]


def _logaddexp2(a: float, b: float) -> float:
    if a < b:
        a, b = b, a
    return a + math.log2(1.0 + 2.0 ** (b - a))


def cap_recent(latest: dict[str, tuple[float, int]]) -> list[tuple[str, float]]:
    """The newest ``RECENT_CAP`` products as (member, ts); ties in time are broken by the
    member's bytes, as Redis orders a sorted set."""
    members = [(recent_member(rank, product), ts) for product, (ts, rank) in latest.items()]
    return heapq.nlargest(RECENT_CAP, members, key=lambda item: (item[1], item[0].encode()))


def cap_members(members: dict[str, float]) -> dict[str, float]:
    by_kind: dict[str, list[tuple[float, str]]] = {}
    for name, ts in members.items():
        by_kind.setdefault(name[0], []).append((ts, name))
    kept: dict[str, float] = {}
    for entries in by_kind.values():
        for ts, name in heapq.nlargest(MEMBER_CAP, entries):
            kept[name] = ts
    return kept


@dataclass(frozen=True, eq=False)
class _UserOps:
    """One user's contributions as a time-sorted list of plain tuples, for the sweep."""

    ts: list[float]
    ops: list[tuple[int, str, float, int]]


class OfflineFeatureEngine:
    """Feature values from an event log, exactly as the online store would have had them."""

    def __init__(self, events: pd.DataFrame, catalog: Catalog, *, validated: bool = False) -> None:
        frame = events if validated else validate_frame(events, now=math.inf)[0]
        frame = frame[list(EVENT_FIELDS)].drop_duplicates("event_id", keep="first")
        self.events_ = frame.sort_values("ts", kind="stable").reset_index(drop=True)
        self.catalog = catalog
        self.contributions_: Contributions = contributions(self.events_, catalog)
        ts = self.events_["ts"].to_numpy(dtype=np.float64)
        self._by_user: dict[str, dict[str, pd.DataFrame]] = {}
        c = self.contributions_
        for name, table in (
            ("decayed", c.decayed),
            ("windows", c.windows),
            ("recent", c.recent),
            ("members", c.members),
        ):
            table = table.assign(ts=ts[table["row"].to_numpy()])
            for user_id, group in table.groupby("user_id", sort=False):
                self._by_user.setdefault(str(user_id), {})[name] = group
        self._products = c.products.assign(
            ts=ts[c.products["row"].to_numpy()],
            position=catalog.index_of(c.products["product_id"].to_numpy(dtype=object)),
        ).sort_values("ts", kind="stable")

    @property
    def user_ids(self) -> list[str]:
        return list(self._by_user)

    def raw_user(self, user_id: str, at: float) -> RawUser:
        """The user's hash fields and recent (product, ts) pairs as Redis would hold them."""
        tables = self._by_user.get(user_id, {})
        fields: dict[str, float | str] = {}
        decayed = tables.get("decayed")
        if decayed is not None:
            summed = log_sum(decayed[decayed["ts"] <= at], ["field"])
            fields.update(zip(summed["field"], summed["exponent"], strict=True))
        windows = tables.get("windows")
        if windows is not None:
            happened = windows[windows["ts"] <= at]
            counted = window_counts(happened, [])
            fields.update(zip(counted["field"], counted["counts"], strict=True))
            if not happened.empty:
                fields["t"] = float(happened["ts"].max())
        recent_pairs: list[tuple[str, float]] = []
        recent = tables.get("recent")
        if recent is not None:
            latest = latest_recent(recent[recent["ts"] <= at], ["product_id"])
            by_product = {
                str(p): (float(t), int(r))
                for p, t, r in zip(latest["product_id"], latest["ts"], latest["rank"], strict=True)
            }
            recent_pairs = cap_recent(by_product)
        members = tables.get("members")
        if members is not None:
            newest = members[members["ts"] <= at].groupby("field")["ts"].max()
            fields.update(cap_members({str(k): float(v) for k, v in newest.items()}))
        return fields, recent_pairs

    def user_state(self, user_id: str, at: float) -> UserState:
        fields, recent = self.raw_user(user_id, at)
        return decode_user_state(user_id, fields, recent, at)

    def product_features(self, at: float) -> ProductFeatures:
        """Every catalog product's signals as of ``at``."""
        known = self._products[(self._products["ts"] <= at) & (self._products["position"] >= 0)]
        summed = log_sum(known, ["position", "slot"])
        log_sums = np.full((len(self.catalog), N_SLOTS), -np.inf)
        log_sums[summed["position"].to_numpy(), summed["slot"].to_numpy()] = summed["exponent"]
        return ProductFeatures(at=at, positions=np.arange(len(self.catalog)), log_sums=log_sums)

    def product_features_at(self, times: np.ndarray) -> Iterator[ProductFeatures]:
        """Product features at each of ``times`` (ascending), from one sweep of the log."""
        known = self._products[self._products["position"] >= 0]
        ts = known["ts"].to_numpy()
        positions = known["position"].to_numpy()
        slots = known["slot"].to_numpy()
        exponents = known["exponent"].to_numpy()
        log_sums = np.full((len(self.catalog), N_SLOTS), -np.inf)
        start = 0
        for at in np.asarray(times, dtype=np.float64):
            stop = int(np.searchsorted(ts, at, side="right"))
            if stop > start:
                np.logaddexp2.at(
                    log_sums, (positions[start:stop], slots[start:stop]), exponents[start:stop]
                )
                start = stop
            yield ProductFeatures(
                at=float(at), positions=np.arange(len(self.catalog)), log_sums=log_sums.copy()
            )

    def _user_ops(self, user_id: str) -> _UserOps:
        tables = self._by_user.get(user_id, {})
        parts = []
        if "decayed" in tables:
            d = tables["decayed"]
            parts.append(pd.DataFrame({"ts": d["ts"], "op": _DECAYED, "key": d["field"]}))
            parts[-1]["value"], parts[-1]["rank"] = d["exponent"].to_numpy(), 0
        if "windows" in tables:
            w = tables["windows"]
            parts.append(pd.DataFrame({"ts": w["ts"], "op": _WINDOW, "key": w["field"]}))
            parts[-1]["value"], parts[-1]["rank"] = 1.0, w["kind"].to_numpy()
        if "recent" in tables:
            r = tables["recent"]
            parts.append(pd.DataFrame({"ts": r["ts"], "op": _RECENT, "key": r["product_id"]}))
            parts[-1]["value"], parts[-1]["rank"] = r["ts"].to_numpy(), r["rank"].to_numpy()
        if "members" in tables:
            m = tables["members"]
            parts.append(pd.DataFrame({"ts": m["ts"], "op": _MEMBER, "key": m["field"]}))
            parts[-1]["value"], parts[-1]["rank"] = m["ts"].to_numpy(), 0
        if not parts:
            return _UserOps([], [])
        table = pd.concat(parts, ignore_index=True).sort_values("ts", kind="stable")
        ops = list(
            zip(
                table["op"].tolist(),
                table["key"].astype(str).tolist(),
                table["value"].tolist(),
                table["rank"].tolist(),
                strict=True,
            )
        )
        return _UserOps(table["ts"].tolist(), ops)

    def user_states_at(
        self, points: pd.DataFrame, *, strictly_before: bool = False
    ) -> Iterator[tuple[int, UserState]]:
        """``(row of points, UserState)`` for each (user_id, ts) decision point.

        One time-ordered pass per user over that user's events; ``strictly_before``
        leaves out events at the decision time itself (the purchase being predicted).
        Results come grouped by user, each tagged with its row in ``points``.
        """
        order = points.assign(_row=np.arange(len(points))).sort_values(
            ["user_id", "ts"], kind="stable"
        )
        for user_id, group in order.groupby("user_id", sort=False):
            user = str(user_id)
            timeline = self._user_ops(user)
            fold = _Fold()
            cursor = 0
            for row, at in zip(group["_row"].tolist(), group["ts"].tolist(), strict=True):
                while cursor < len(timeline.ts) and (
                    timeline.ts[cursor] < at or (not strictly_before and timeline.ts[cursor] == at)
                ):
                    fold.add(timeline.ts[cursor], timeline.ops[cursor])
                    cursor += 1
                yield row, fold.state(user, at)


class _Fold:
    """A user's raw state folded one contribution at a time (the sweep's running state)."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, list[int]] = {}
        self.latest: dict[str, tuple[float, int]] = {}
        self.members: dict[str, float] = {}
        self.last_ts: float | None = None

    def add(self, ts: float, op: tuple[int, str, float, int]) -> None:
        kind, key, value, rank = op
        if kind == _DECAYED:
            old = self.sums.get(key)
            self.sums[key] = value if old is None else _logaddexp2(old, value)
        elif kind == _WINDOW:
            if key not in self.counts:
                self.counts[key] = [0] * len(COUNTED_TYPES)
            self.counts[key][rank] += 1
            self.last_ts = ts if self.last_ts is None else max(self.last_ts, ts)
        elif kind == _RECENT:
            current = self.latest.get(key)
            if current is None or (value, rank) > current:
                self.latest[key] = (value, rank)
        else:
            self.members[key] = max(self.members.get(key, value), value)

    def state(self, user_id: str, at: float) -> UserState:
        fields: dict[str, float | str] = dict(self.sums)
        fields.update((key, pack_counts(counts)) for key, counts in self.counts.items())
        if self.last_ts is not None:
            fields["t"] = self.last_ts
        fields.update(cap_members(self.members))
        return decode_user_state(user_id, fields, cap_recent(self.latest), at)
