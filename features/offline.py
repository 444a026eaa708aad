"""The offline engine: replays an event log through ``features.definitions`` as of any time.

``user_state(user, at)`` and ``product_features(at)`` equal what the online engine held
at ``at`` (events with ts ≤ at), up to float rounding. For training, ``user_states_at``
and ``product_features_at`` sweep the log once in time order over many decision points.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.catalog import Catalog
from features.contributions import contributions
from features.definitions import COUNTED_TYPES, WINDOWS, Contributions
from features.events.frame import validate_frame
from features.events.schema import EVENT_FIELDS
from features.folds import latest_recent, log_sum, window_counts
from features.offline_fold import WINDOW, Fold, cap_members, cap_recent
from features.state import N_SLOTS, ProductFeatures, UserState, decode_user_state

RawUser = tuple[dict[str, float | str], list[tuple[str, float]]]


_TABLES = ("decayed", "windows", "recent", "members")


@dataclass(frozen=True, eq=False)
class _Timeline:
    """Every user's contributions as flat lists sorted by (user, time), for the sweep."""

    bounds: np.ndarray  # user code → [start, stop) in the lists below
    ts: list[float]
    op: list[int]
    key: list[str]
    value: list[float]
    rank: list[int]


class OfflineFeatureEngine:
    """Feature values from an event log, exactly as the online store would have had them."""

    def __init__(self, events: pd.DataFrame, catalog: Catalog, *, validated: bool = False) -> None:
        frame = events if validated else validate_frame(events, now=math.inf)[0]
        frame = frame[list(EVENT_FIELDS)].drop_duplicates("event_id", keep="first")
        self.events_ = frame.sort_values("ts", kind="stable").reset_index(drop=True)
        self.catalog = catalog
        self.contributions_: Contributions = contributions(self.events_, catalog)
        codes, users = pd.factorize(self.events_["user_id"].to_numpy(dtype=object))
        self._user_code: dict[str, int] = {str(u): i for i, u in enumerate(users)}
        ts = self.events_["ts"].to_numpy(dtype=np.float64)
        self._tables: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
        c = self.contributions_
        for name in _TABLES:
            table: pd.DataFrame = getattr(c, name)
            rows = table["row"].to_numpy()
            order = np.lexsort((ts[rows], codes[rows]))
            table = table.iloc[order].assign(ts=ts[rows[order]], user=codes[rows[order]])
            bounds = np.searchsorted(table["user"].to_numpy(), np.arange(len(users) + 1))
            self._tables[name] = (table.reset_index(drop=True), bounds)
        self._timeline: _Timeline | None = None
        # Per user, events in time order: what the sweep counts windows and last times from.
        order = np.lexsort((ts, codes))
        self._event_bounds = np.searchsorted(codes[order], np.arange(len(users) + 1))
        self._event_ts = ts[order]
        kinds = self.events_["type"].to_numpy(dtype=object)[order]
        self._event_kind = np.zeros(len(order), dtype=np.int64)
        for i, kind in enumerate(COUNTED_TYPES):
            self._event_kind[kinds == kind.value] = i
        self._event_bucket = {w.code: w.buckets_of(self._event_ts) for w in WINDOWS}
        self._products = c.products.assign(
            ts=ts[c.products["row"].to_numpy()],
            position=catalog.index_of(c.products["product_id"].to_numpy(dtype=object)),
        ).sort_values("ts", kind="stable")

    @property
    def user_ids(self) -> list[str]:
        return list(self._user_code)

    def _user_table(self, name: str, user_id: str) -> pd.DataFrame | None:
        code = self._user_code.get(user_id)
        if code is None:
            return None
        table, bounds = self._tables[name]
        return table.iloc[bounds[code] : bounds[code + 1]]

    def raw_user(self, user_id: str, at: float) -> RawUser:
        """The user's hash fields and recent (member, ts) pairs as Redis would hold them."""
        fields: dict[str, float | str] = {}
        decayed = self._user_table("decayed", user_id)
        if decayed is not None:
            summed = log_sum(decayed[decayed["ts"] <= at], ["field"])
            fields.update(zip(summed["field"], summed["exponent"], strict=True))
        windows = self._user_table("windows", user_id)
        if windows is not None:
            happened = windows[windows["ts"] <= at]
            counted = window_counts(happened, [])
            fields.update(zip(counted["field"], counted["counts"], strict=True))
            if not happened.empty:
                fields["t"] = float(happened["ts"].max())
        recent_pairs: list[tuple[str, float]] = []
        recent = self._user_table("recent", user_id)
        if recent is not None:
            latest = latest_recent(recent[recent["ts"] <= at], ["product_id"])
            by_product = {
                str(p): (float(t), int(r))
                for p, t, r in zip(latest["product_id"], latest["ts"], latest["rank"], strict=True)
            }
            recent_pairs = cap_recent(by_product)
        members = self._user_table("members", user_id)
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

    def _build_timeline(self) -> _Timeline:
        parts = []
        for op, name in enumerate(_TABLES):
            if op == WINDOW:
                continue  # the sweep counts windows from the events themselves
            table, _ = self._tables[name]
            key = {"decayed": "field", "windows": "field", "recent": "product_id"}.get(
                name, "field"
            )
            value = {"decayed": "exponent", "recent": "ts", "members": "ts"}.get(name)
            rank = {"windows": "kind", "recent": "rank"}.get(name)
            parts.append(
                pd.DataFrame(
                    {
                        "user": table["user"].to_numpy(),
                        "ts": table["ts"].to_numpy(),
                        "op": op,
                        "key": table[key].to_numpy(dtype=object),
                        "value": table[value].to_numpy(dtype=np.float64) if value else 1.0,
                        "rank": table[rank].to_numpy(dtype=np.int64) if rank else 0,
                    }
                )
            )
        merged = pd.concat(parts, ignore_index=True)
        user, ts = merged["user"].to_numpy(), merged["ts"].to_numpy()
        merged = merged.iloc[np.lexsort((ts, user))]
        bounds = np.searchsorted(merged["user"].to_numpy(), np.arange(len(self._user_code) + 1))
        return _Timeline(
            bounds=bounds,
            ts=merged["ts"].tolist(),
            op=merged["op"].tolist(),
            key=merged["key"].tolist(),
            value=merged["value"].tolist(),
            rank=merged["rank"].tolist(),
        )

    def user_states_at(
        self, points: pd.DataFrame, *, strictly_before: bool = False
    ) -> Iterator[tuple[int, UserState]]:
        """``(row of points, UserState)`` for each (user_id, ts) decision point.

        One time-ordered pass per user over that user's events; ``strictly_before``
        leaves out events at the decision time itself (the purchase being predicted).
        Results come grouped by user, each tagged with its row in ``points``.
        """
        if self._timeline is None:
            self._timeline = self._build_timeline()
        line = self._timeline
        users = points["user_id"].astype(str).tolist()
        codes = np.array([self._user_code.get(u, -1) for u in users], dtype=np.int64)
        times = points["ts"].to_numpy(dtype=np.float64)
        fold, current, cursor, stop, first_event = Fold(), -2, 0, 0, 0
        side = "left" if strictly_before else "right"
        for row in np.lexsort((times, codes)).tolist():
            code, at = int(codes[row]), float(times[row])
            if code != current:
                fold, current = Fold(), code
                cursor, stop = (0, 0) if code < 0 else (line.bounds[code], line.bounds[code + 1])
                first_event = 0 if code < 0 else int(self._event_bounds[code])
            while cursor < stop and (
                line.ts[cursor] < at or (not strictly_before and line.ts[cursor] == at)
            ):
                fold.add(line.op[cursor], line.key[cursor], line.value[cursor], line.rank[cursor])
                cursor += 1
            state = fold.state(users[row], at)
            if code >= 0:
                state = self._with_windows(state, code, first_event, at, side)
            yield row, state

    def _with_windows(
        self, state: UserState, code: int, first: int, at: float, side: str
    ) -> UserState:
        """Window counts and the last event time, from the user's events up to ``at``."""
        last = int(self._event_bounds[code + 1])
        end = first + int(np.searchsorted(self._event_ts[first:last], at, side=side))  # type: ignore[call-overload]
        if end == first:
            return state
        counts = {}
        for window in WINDOWS:
            buckets = self._event_bucket[window.code][first:end]
            start = first + int(np.searchsorted(buckets, window.first_bucket(at), side="left"))
            tally = np.bincount(self._event_kind[start:end], minlength=len(COUNTED_TYPES))
            counts[window.name] = {
                kind.value: int(n) for kind, n in zip(COUNTED_TYPES, tally, strict=True)
            }
        return replace(state, counts=counts, last_event_ts=float(self._event_ts[end - 1]))
