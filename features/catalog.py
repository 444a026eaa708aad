"""The product catalog: ids, categories and brands as integer codes, numeric arrays.

A ``Catalog`` is immutable and indexed 0..n-1; every product-side array in ``features``
(product features, candidate scores) is aligned to that index. The service loads the
snapshot that ``shopmode ingest --catalog`` stored in Redis (``features.store.catalog``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.events.schema import check_id
from features.events.tables import read_table, require_columns
from shopmode.errors import InvalidInput

REQUIRED_COLUMNS = ("product_id", "title", "category")
_DICT_LOOKUP_MAX = 64
OPTIONAL_COLUMNS: tuple[str, ...] = ("description", "department", "brand", "price", "discount")
OPTIONAL_COLUMNS += ("attributes", "launch_ts")


def _codes(values: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Sorted vocabulary and int32 codes; missing values get code -1."""
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    return codes.astype(np.int32), tuple(str(u) for u in uniques)


def _numeric(frame: pd.DataFrame, column: str, default: float) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default, dtype=np.float64)
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isfinite(values), values, default)


@dataclass(frozen=True, eq=False)
class Catalog:
    """Products by position; ``index_of`` maps ids to positions (-1 when unknown)."""

    frame: pd.DataFrame
    product_ids: np.ndarray
    categories: tuple[str, ...]
    brands: tuple[str, ...]
    category_code: np.ndarray
    brand_code: np.ndarray
    price: np.ndarray
    discount: np.ndarray
    launch_ts: np.ndarray
    _positions: dict[str, int] = field(repr=False)
    _lookup: pd.Index = field(repr=False)
    _cells: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str = "catalog") -> Catalog:
        require_columns(frame, REQUIRED_COLUMNS, source=source)
        frame = frame.reset_index(drop=True).copy()
        for row, value in enumerate(frame["product_id"]):
            try:
                check_id(value, required_reason="is required")
            except ValueError as exc:
                raise InvalidInput(f"{source} row {row}: {exc}", field="product_id") from None
        duplicated = frame["product_id"].duplicated()
        if duplicated.any():
            first = frame["product_id"][duplicated].iloc[0]
            raise InvalidInput(f"{source}: duplicate product_id {first!r}", field="product_id")
        if frame["category"].isna().any():
            row = int(np.flatnonzero(frame["category"].isna().to_numpy())[0])
            raise InvalidInput(f"{source} row {row}: category is required", field="category")
        for column in ("description", "department", "brand", "attributes"):
            if column not in frame.columns:
                frame[column] = None
        frame["product_id"] = frame["product_id"].astype(str)
        frame["category"] = frame["category"].astype(str)
        category_code, categories = _codes(frame["category"])
        brand_code, brands = _codes(frame["brand"].astype(object))
        product_ids = frame["product_id"].to_numpy(dtype=object)
        return cls(
            frame=frame,
            product_ids=product_ids,
            categories=categories,
            brands=brands,
            category_code=category_code,
            brand_code=brand_code,
            price=_numeric(frame, "price", 0.0),
            discount=np.clip(_numeric(frame, "discount", 0.0), 0.0, 0.9),
            launch_ts=_numeric(frame, "launch_ts", np.nan),
            _positions={pid: i for i, pid in enumerate(product_ids)},
            _lookup=pd.Index(product_ids, dtype=object),
        )

    @classmethod
    def read(cls, path: Path) -> Catalog:
        """From Parquet, CSV or JSON Lines."""
        return cls.from_frame(read_table(path, field="catalog"), source=str(path))

    def __len__(self) -> int:
        return len(self.product_ids)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._positions

    def index_of(self, product_ids: Iterable[str]) -> np.ndarray:
        """Catalog positions (int64), -1 for an unknown or missing id."""
        if not isinstance(product_ids, np.ndarray | list | tuple | pd.Series):
            product_ids = list(product_ids)
        if len(product_ids) <= _DICT_LOOKUP_MAX:
            # A request's few ids: a dict lookup each, not a ~0.1 ms pandas indexer.
            cells = product_ids.tolist() if isinstance(product_ids, np.ndarray) else product_ids
            return np.fromiter(
                (self._positions.get(p, -1) if isinstance(p, str) else -1 for p in cells),
                dtype=np.int64,
                count=len(product_ids),
            )
        wanted = pd.Index(np.asarray(product_ids, dtype=object), dtype=object)
        return np.asarray(self._lookup.get_indexer(wanted), dtype=np.int64)

    def cells(self, column: str) -> np.ndarray:
        """A frame column's values as an object array (built once): ``cells(c)[i]`` is
        ``frame[c].iat[i]`` without a pandas lookup per item on the request path."""
        found = self._cells.get(column)
        if found is None:
            found = self._cells[column] = self.frame[column].to_numpy(dtype=object)
        return found

    def position(self, product_id: str) -> int:
        return self._positions.get(product_id, -1)

    def category_of(self, product_id: str) -> str | None:
        i = self._positions.get(product_id)
        return None if i is None else self.categories[int(self.category_code[i])]

    def brand_of(self, product_id: str) -> str | None:
        i = self._positions.get(product_id)
        if i is None or self.brand_code[i] < 0:
            return None
        return self.brands[int(self.brand_code[i])]

    def to_parquet_bytes(self) -> bytes:
        buffer = io.BytesIO()
        frame = self.frame.copy()
        for column in ("description", "department", "brand", "attributes"):
            frame[column] = frame[column].astype(object)
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()

    @classmethod
    def from_parquet_bytes(cls, blob: bytes) -> Catalog:
        return cls.from_frame(pd.read_parquet(io.BytesIO(blob)))
