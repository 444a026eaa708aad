"""The offline engine's running state of one shopper: contributions folded in time order,
capped as the online store caps them (``features.offline``'s sweep uses it)."""

from __future__ import annotations

import heapq
import math

from features.definitions import MEMBER_CAP, RECENT_CAP
from features.folds import recent_member
from features.state import UserState, decode_user_state

DECAYED, WINDOW, RECENT, MEMBER = 0, 1, 2, 3  # positions in features.offline._TABLES


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


class Fold:
    """A user's raw state folded one contribution at a time (the sweep's running state)."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.latest: dict[str, tuple[float, int]] = {}
        self.members: dict[str, float] = {}
        self._members_limit = 4 * MEMBER_CAP

    def add(self, kind: int, key: str, value: float, rank: int) -> None:
        if kind == DECAYED:
            old = self.sums.get(key)
            self.sums[key] = value if old is None else _logaddexp2(old, value)
        elif kind == RECENT:
            current = self.latest.get(key)
            if current is None or (value, rank) > current:
                self.latest[key] = (value, rank)
                if len(self.latest) > 4 * RECENT_CAP:
                    self._forget_old()
        else:
            self.members[key] = max(self.members.get(key, value), value)
            if len(self.members) > self._members_limit:
                self._forget_old_members()

    def _forget_old(self) -> None:
        # Contributions arrive in time order, so a product older than RECENT_CAP others
        # can only come back newer than all of them: dropping it never changes
        # ``cap_recent``, and keeps each state O(RECENT_CAP) on a years-long history.
        newest = heapq.nlargest(RECENT_CAP, (ts for ts, _ in self.latest.values()))[-1]
        self.latest = {k: v for k, v in self.latest.items() if v[0] >= newest}

    def _forget_old_members(self) -> None:
        # The same argument for members (purchases on a years-long history): a member
        # older than the MEMBER_CAP-th newest of its kind never comes back into
        # ``cap_members`` unless added again, newer than all of them.
        by_kind: dict[str, list[float]] = {}
        for name, ts in self.members.items():
            by_kind.setdefault(name[0], []).append(ts)
        cutoff = {
            kind: heapq.nlargest(MEMBER_CAP, times)[-1]
            for kind, times in by_kind.items()
            if len(times) > MEMBER_CAP
        }
        self.members = {
            k: ts for k, ts in self.members.items() if ts >= cutoff.get(k[0], -math.inf)
        }
        self._members_limit = max(4 * MEMBER_CAP, 2 * len(self.members))

    def state(self, user_id: str, at: float) -> UserState:
        fields: dict[str, float | str] = dict(self.sums)
        fields.update(cap_members(self.members))
        return decode_user_state(user_id, fields, cap_recent(self.latest), at)
