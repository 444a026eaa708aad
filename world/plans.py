"""What each generated session was for: hidden per-session facts, saved with the truth.

The simulator decides at the start of a session what the shopper came for (the intent
category), whether they land on the home page, whether they search and what they type.
Only the evaluation's engagement oracle reads these, from ``truth/sessions.parquet``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from world.search import Queries
from world.vocabulary import CATEGORIES, COLOURS

FILE = "sessions.parquet"


@dataclass(frozen=True)
class SessionPlans:
    """One entry per generated session (index = the number in its ``session_id``).

    ``queries`` has a row per session: the intent category, and brand / colour /
    material / price cap refinements (-1 / NaN when absent or when not searching).
    """

    user: np.ndarray  # row in Truth.user_ids
    start_ts: np.ndarray
    intent: np.ndarray  # category index
    shows_home: np.ndarray  # bool: the session opened on the home page
    searches: np.ndarray  # bool: the shopper searched (first, or after the home page)
    queries: Queries
    texts: list[str | None]

    def __len__(self) -> int:
        return len(self.user)

    @classmethod
    def of(
        cls,
        user: np.ndarray,
        start_ts: np.ndarray,
        intent: np.ndarray,
        parts: list[tuple[int, np.ndarray, np.ndarray, Queries, list[str]]],
    ) -> SessionPlans:
        """Assemble per-chunk (offset, home rows, search rows, queries, texts) into plans."""
        n = len(user)
        home, searches = np.zeros(n, bool), np.zeros(n, bool)
        brand, colour, material = (np.full(n, -1, np.int64) for _ in range(3))
        cap = np.full(n, np.nan)
        texts: list[str | None] = [None] * n
        for lo, home_rows, search_rows, queries, chunk_texts in parts:
            home[lo + home_rows] = True
            rows = lo + search_rows
            searches[rows] = True
            brand[rows], colour[rows] = queries.brand, queries.colour
            material[rows], cap[rows] = queries.material, queries.cap
            for row, text in zip(rows.tolist(), chunk_texts, strict=True):
                texts[row] = text
        queries_ = Queries(np.asarray(intent), brand, colour, material, cap)
        return cls(user, start_ts, np.asarray(intent), home, searches, queries_, texts)

    def rows_at(self, user: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """The session each (shopper row, time) falls in: the shopper's latest session
        started at or before ``ts`` (-1 when none). A decision point sits just before its
        session's first event, which always comes after the session's start."""
        key = self._order_key
        wanted = user * self._span + (np.asarray(ts, np.float64) + 1e-3 - self.start_ts.min())
        pos = np.searchsorted(key, wanted, side="right") - 1
        found = pos >= 0
        row = np.where(found, self._order[np.maximum(pos, 0)], -1)
        same_user = found & (self.user[np.maximum(row, 0)] == user)
        return np.where(same_user, row, -1)

    @cached_property
    def _span(self) -> float:
        return float(self.start_ts.max() - self.start_ts.min() + 10.0) if len(self) else 1.0

    @cached_property
    def _order(self) -> np.ndarray:
        return np.lexsort((self.start_ts, self.user))

    @cached_property
    def _order_key(self) -> np.ndarray:
        return np.asarray(
            self.user[self._order].astype(np.float64) * self._span
            + self.start_ts[self._order]
            - self.start_ts.min()
        )

    # -- files ---------------------------------------------------------------------------

    def save(
        self,
        directory: Path,
        user_ids: np.ndarray,
        brand_names: np.ndarray,
        material_names: np.ndarray,
    ) -> None:
        q = self.queries
        n = len(self)
        names = np.array([c.name for c in CATEGORIES])
        table = pa.table(
            {
                "session_id": pa.array([f"s{i:07d}" for i in range(n)], pa.string()),
                "user_id": pa.array(user_ids[self.user].astype(str), pa.string()),
                "start_ts": pa.array(self.start_ts, pa.float64()),
                "intent": pa.array(names[self.intent], pa.string()),
                "shows_home": pa.array(self.shows_home, pa.bool_()),
                "searches": pa.array(self.searches, pa.bool_()),
                "query": pa.array(self.texts, pa.string()),
                "query_brand": _named(brand_names, q.brand),
                "query_colour": _named(np.array(COLOURS), q.colour),
                "query_material": _named(material_names, q.material),
                "query_cap": pa.array(q.cap, pa.float64(), mask=np.isnan(q.cap)),
            }
        )
        pq.write_table(table, directory / FILE)

    @classmethod
    def load(
        cls,
        directory: Path,
        users: pd.Index,
        brand_names: np.ndarray,
        material_names: np.ndarray,
    ) -> SessionPlans:
        frame = pq.read_table(directory / FILE).to_pandas()
        intent = pd.Index([c.name for c in CATEGORIES]).get_indexer(frame["intent"])
        cap = frame["query_cap"].to_numpy(dtype=np.float64, na_value=np.nan)
        queries = Queries(
            intent,
            _codes(brand_names, frame["query_brand"]),
            _codes(np.array(COLOURS), frame["query_colour"]),
            _codes(material_names, frame["query_material"]),
            cap,
        )
        texts = [q if isinstance(q, str) else None for q in frame["query"].tolist()]
        return cls(
            user=users.get_indexer(frame["user_id"].astype(str)),
            start_ts=frame["start_ts"].to_numpy(np.float64),
            intent=intent,
            shows_home=frame["shows_home"].to_numpy(bool),
            searches=frame["searches"].to_numpy(bool),
            queries=queries,
            texts=texts,
        )


def _named(names: np.ndarray, codes: np.ndarray) -> pa.Array:
    return pa.array(
        np.where(codes >= 0, names.astype(object)[np.maximum(codes, 0)], None), pa.string()
    )


def _codes(names: np.ndarray, values: pd.Series) -> np.ndarray:
    return np.asarray(pd.Index(names.astype(str)).get_indexer(values.astype(object)), np.int64)
