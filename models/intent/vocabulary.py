"""The catalog's own names a request is matched against: categories, brands, attributes.

Each name is indexed as a tuple of words, in singular and plural where that makes sense
("sneaker", "sneakers"), together with the synonyms of ``models.intent.synonyms`` whose
targets this catalog actually has. ``lookup`` answers which kinds of thing a phrase names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from features.catalog import Catalog
from models.intent.columns import attribute_dicts, fingerprint, remember
from models.intent.prices import tier_bounds
from models.intent.synonyms import (
    CATEGORY_SYNONYMS,
    COLOUR_SYNONYMS,
    DEPARTMENT_SYNONYMS,
    MATERIAL_SYNONYMS,
)
from models.intent.text import number_forms, split_words

Kind = Literal["category", "department", "brand", "colour", "material"]
# When one phrase names several kinds of thing, the more specific one wins.
KIND_ORDER: tuple[Kind, ...] = ("brand", "category", "department", "colour", "material")

_VOCABULARIES: dict[str, IntentVocabulary] = {}


@dataclass
class IntentVocabulary:
    """The catalog's names a request can be matched against, plus price tiers per category."""

    categories: Mapping[str, str]  # category -> department
    brands: Iterable[str] = ()
    colours: Iterable[str] = ()
    materials: Iterable[str] = ()
    # (budget cap, premium floor) per category; "" holds the catalog-wide pair.
    price_tiers: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    _phrases: dict[tuple[str, ...], dict[Kind, set[str]]] = field(
        init=False, default_factory=dict, repr=False
    )
    _longest: int = field(init=False, default=1, repr=False)

    def __post_init__(self) -> None:
        self.categories = dict(self.categories)
        self.brands = tuple(sorted(set(self.brands)))
        self.colours = tuple(sorted(set(self.colours)))
        self.materials = tuple(sorted(set(self.materials)))
        self.price_tiers = dict(self.price_tiers)
        departments = set(self.categories.values())
        self._add_names("brand", {b: {b} for b in self.brands}, inflect=False)
        self._add_names("category", {c: {c} for c in self.categories}, inflect=True)
        for name in self.categories:
            # "Chargers & Cables" is also asked for as "chargers" or "cables".
            parts = [p.strip() for p in re.split(r"&| and ", name) if p.strip()]
            if len(parts) > 1:
                self._add_names("category", {p: {name} for p in parts}, inflect=True)
        self._add_synonyms("category", CATEGORY_SYNONYMS, set(self.categories))
        self._add_names("department", {d: {d} for d in departments}, inflect=True)
        self._add_synonyms("department", DEPARTMENT_SYNONYMS, departments)
        self._add_names("colour", {c: {c} for c in self.colours}, inflect=False)
        self._add_synonyms("colour", COLOUR_SYNONYMS, set(self.colours))
        self._add_names("material", {m: {m} for m in self.materials}, inflect=False)
        self._add_synonyms("material", MATERIAL_SYNONYMS, set(self.materials))
        self._longest = max((len(p) for p in self._phrases), default=1)

    def _add_names(self, kind: Kind, names: Mapping[str, set[str]], *, inflect: bool) -> None:
        for phrase_text, targets in names.items():
            phrase = tuple(split_words(phrase_text.lower()))
            forms = number_forms(phrase) if inflect else {phrase}
            for form in forms:
                if form:
                    self._phrases.setdefault(form, {}).setdefault(kind, set()).update(targets)

    def _add_synonyms(
        self, kind: Kind, table: Mapping[str, tuple[str, ...]], known: set[str]
    ) -> None:
        # Catalogs differ in case ("navy" vs "Navy"); a synonym lands on the catalog's spelling.
        by_lower = {name.casefold(): name for name in known}
        usable = {
            p: {by_lower[t.casefold()] for t in ts if t.casefold() in by_lower}
            for p, ts in table.items()
        }
        self._add_names(kind, {p: ts for p, ts in usable.items() if ts}, inflect=True)

    def lookup(self, phrase: tuple[str, ...]) -> dict[Kind, set[str]]:
        return self._phrases.get(phrase, {})

    @property
    def longest_phrase(self) -> int:
        return self._longest

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> IntentVocabulary:
        """The vocabulary of a loaded catalog (built once per catalog snapshot)."""
        key = fingerprint(catalog)
        found = _VOCABULARIES.get(key)
        if found is None:
            frame = catalog.frame
            rows = (
                {
                    "category": catalog.categories[int(catalog.category_code[i])],
                    "department": frame["department"].iat[i] or "",
                    "brand": catalog.brand_of(str(catalog.product_ids[i])) or "",
                    "price": float(catalog.price[i]),
                    "attributes": attrs,
                }
                for i, attrs in enumerate(attribute_dicts(catalog))
            )
            found = cls.from_products(rows)
            remember(_VOCABULARIES, key, found)
        return found

    @classmethod
    def from_products(cls, products: Iterable[Mapping[str, Any]]) -> IntentVocabulary:
        """Build from catalog rows (category, department, brand, price, attributes JSON)."""
        categories: dict[str, str] = {}
        brands: set[str] = set()
        colours: set[str] = set()
        materials: set[str] = set()
        prices: dict[str, list[float]] = {"": []}
        for row in products:
            category = str(row["category"])
            categories[category] = str(row["department"])
            if row.get("brand"):
                brands.add(str(row["brand"]))
            price = float(row["price"])
            prices.setdefault(category, []).append(price)
            prices[""].append(price)
            attrs = row.get("attributes") or {}
            if isinstance(attrs, str):
                attrs = json.loads(attrs) if attrs.strip() else {}
            if attrs.get("colour"):
                colours.add(str(attrs["colour"]))
            if attrs.get("material"):
                materials.add(str(attrs["material"]))
        tiers = {name: tier_bounds(values) for name, values in prices.items() if values}
        return cls(categories, brands, colours, materials, tiers)
