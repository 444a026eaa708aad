"""Catalog columns a request is matched against, derived once per catalog content.

The service reloads its catalog snapshot every few seconds as a new object; the content
(and so the fingerprint) rarely changes, so derived data is kept by fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from features.catalog import Catalog


@dataclass(frozen=True)
class CatalogColumns:
    department: npt.NDArray[np.str_]
    attributes: dict[str, npt.NDArray[np.str_]]


_FINGERPRINTS: weakref.WeakKeyDictionary[Catalog, str] = weakref.WeakKeyDictionary()
_COLUMNS: dict[str, CatalogColumns] = {}
KEEP = 4


def fingerprint(catalog: Catalog) -> str:
    """A digest of the catalog content a request is matched on (ids, names, prices)."""
    found = _FINGERPRINTS.get(catalog)
    if found is None:
        frame = catalog.frame
        digest = hashlib.blake2b(digest_size=16)
        for column in ("product_id", "category", "department", "brand", "attributes"):
            digest.update("\x1f".join(map(str, frame[column].tolist())).encode())
        digest.update(np.ascontiguousarray(catalog.price).tobytes())
        found = digest.hexdigest()
        _FINGERPRINTS[catalog] = found
    return found


def remember(cache: dict[str, Any], key: str, value: Any) -> None:
    """Keep ``value`` under ``key``, dropping the oldest entry past ``KEEP``."""
    if len(cache) >= KEEP:
        cache.pop(next(iter(cache)))
    cache[key] = value


def attribute_dicts(catalog: Catalog) -> list[dict[str, Any]]:
    """Each product's attributes as a dict (bad or missing JSON reads as empty)."""
    out: list[dict[str, Any]] = []
    for raw in catalog.frame["attributes"].tolist():
        parsed: object = raw
        if isinstance(raw, str):
            try:
                parsed = json.loads(raw) if raw.strip() else {}
            except ValueError:
                parsed = {}
        out.append(parsed if isinstance(parsed, dict) else {})
    return out


def catalog_columns(catalog: Catalog) -> CatalogColumns:
    """Departments and string attributes, casefolded, as arrays aligned with the catalog."""
    # Parsing attribute JSON costs milliseconds per thousand products: once per catalog.
    key = fingerprint(catalog)
    found = _COLUMNS.get(key)
    if found is None:
        rows = attribute_dicts(catalog)
        names = sorted({key for row in rows for key, v in row.items() if isinstance(v, str)})
        found = CatalogColumns(
            department=np.array(
                [str(d).casefold() for d in catalog.frame["department"].fillna("").tolist()]
            ),
            attributes={
                name: np.array([str(row.get(name, "")).casefold() for row in rows])
                for name in names
            },
        )
        remember(_COLUMNS, key, found)
    return found
