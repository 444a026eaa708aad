"""The shop's names (brands, categories, product titles, regions) and how to find them in text.

``Vocabulary.from_catalog`` builds it from a catalog: its names, the colours and materials
of its attributes (property words a text may use only when the evidence holds them), and
its ordinary words (titles, descriptions, departments: what ``words`` accepts besides the
dictionary of English).

Names are matched token by token, case-insensitively and tolerant of plurals
("hiking boot" finds the category "Hiking Boots"); brands and regions, being proper
nouns, must also match the catalog's capitalisation (or be written in capitals), so a
brand that is also an English word is not found in ordinary prose.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from models.explain.words import word_parts

if TYPE_CHECKING:
    from features.catalog import Catalog

_TOKEN = re.compile(r"§|[a-z0-9]+(?:'[a-z]+)?", re.IGNORECASE)
_SKIP = frozenset({"and", "the"})
CASE_SENSITIVE = frozenset({"brand", "region"})

# What a product is made of or stands for: true only if the evidence says it (the title
# usually does: "Organic", "Handcrafted", "Waterproof"); the catalog's own attribute
# values are added to these through ``Vocabulary(attributes=...)``.
PROPERTIES: tuple[str, ...] = (
    "recycled", "sustainable", "sustainably", "eco-friendly", "eco friendly", "organic",
    "fair trade", "fair-trade", "cruelty-free", "vegan", "handmade", "handcrafted",
    "hand-crafted", "biodegradable", "carbon neutral", "ethically", "ethical",
    "locally made", "waterproof", "water-resistant", "breathable", "lightweight",
    "ultralight", "insulated", "wireless", "noise-cancelling", "gluten-free", "non-stick",
    "leather", "cotton", "wool", "merino", "cashmere", "silk", "linen", "denim", "bamboo",
    "stainless steel", "cast iron", "ceramic", "aluminium", "aluminum", "gore-tex",
    "minimalist", "vintage", "classic", "modern", "retro", "rustic", "compact", "portable",
    "foldable", "adjustable", "rechargeable", "handheld", "heavy-duty", "premium",
    "professional", "luxurious", "soft", "warm", "cozy", "cosy", "slim",
    "spacious", "large", "mini", "oversized", "washable", "dimmable", "stackable",
)  # fmt: skip


def stem(word: str) -> str:
    """A crude singular: enough to match 'boot' with 'Boots' and 'dress' with 'Dresses'."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith("es") and w[:-2].endswith(("ss", "ch", "sh", "x")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


@dataclass(frozen=True)
class Token:
    key: str  # stemmed, lower case; "§" for masked evidence
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    return [
        Token(stem(m.group()), m.start(), m.end())
        for m in _TOKEN.finditer(text)
        if m.group().lower() not in _SKIP
    ]


def phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(t.key for t in tokens(phrase))


@dataclass(frozen=True)
class Mention:
    kind: str  # brand | category | product | region
    name: str
    start: int
    end: int


class PhraseIndex:
    """Finds known phrases in text in one pass (indexed by first token)."""

    def __init__(self, phrases: Iterable[tuple[str, str]]) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], str, str]]] = defaultdict(list)
        for kind, name in phrases:
            key = phrase_key(name)
            if key:
                self._by_first[key[0]].append((key, kind, name))
        for entries in self._by_first.values():
            entries.sort(key=lambda e: -len(e[0]))  # longest phrase wins

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_first.values())

    def find(self, text: str) -> list[Mention]:
        toks = tokens(text)
        keys = [t.key for t in toks]
        found: list[Mention] = []
        i = 0
        while i < len(toks):
            hit = None
            for key, kind, name in self._by_first.get(keys[i], ()):
                if tuple(keys[i : i + len(key)]) != key:
                    continue
                start, end = toks[i].start, toks[i + len(key) - 1].end
                if kind in CASE_SENSITIVE and not _same_case(text[start:end], name):
                    continue
                hit = Mention(kind, name, start, end)
                i += len(key)
                break
            if hit is None:
                i += 1
            else:
                found.append(hit)
        return found


def _same_case(written: str, name: str) -> bool:
    squeeze = " ".join(written.split())
    return squeeze.startswith(name.split()[0]) or squeeze.isupper()


class Vocabulary:
    """The catalog's names, so that a wrong brand or category is caught, not just numbers.

    ``attributes`` (materials, colours, features: "merino wool", "teal") extend the
    built-in property words; a text may use one only if the evidence's own words hold it.
    """

    def __init__(
        self,
        brands: Iterable[str] = (),
        categories: Iterable[str] = (),
        titles: Iterable[str] = (),
        regions: Iterable[str] = (),
        attributes: Iterable[str] = (),
        texts: Iterable[str] = (),
        departments: Iterable[str] = (),
    ) -> None:
        self.brands = frozenset(b for b in brands if b.strip())
        self.categories = frozenset(c for c in categories if c.strip())
        self.titles = frozenset(t for t in titles if t.strip())
        self.regions = frozenset(r for r in regions if r.strip())
        self.attributes = frozenset(a.lower() for a in (*PROPERTIES, *attributes) if a.strip())
        self.departments = frozenset(d for d in departments if d.strip())
        self.index = PhraseIndex(
            [("brand", b) for b in self.brands]
            + [("category", c) for c in self.categories]
            + [("product", t) for t in self.titles]
            + [("region", r) for r in self.regions]
            + [("department", d) for d in self.departments]
        )

        self.properties = PhraseIndex([("property", a) for a in self.attributes])
        names = {p for b in (*self.brands, *self.regions) for p in _plain_words(b)}
        ordinary = (*self.categories, *self.titles, *self.attributes, *texts)
        # Brand and region words are names, not vocabulary: "coppertrail" in lower case
        # is a mangled name, and only the brand check may allow a name.
        self.words = frozenset(w for t in ordinary for w in _plain_words(t)) - names

    @classmethod
    def from_catalog(cls, catalog: Catalog, regions: Iterable[str] = ()) -> Vocabulary:
        """The catalog's names, attribute words and ordinary words."""
        frame = catalog.frame
        attributes: set[str] = set()
        for raw in frame["attributes"].dropna():
            attributes.update(_attribute_words(raw))
        texts = [str(t) for t in frame["description"].dropna()]
        return cls(
            brands=catalog.brands,
            categories=catalog.categories,
            titles=(str(t) for t in frame["title"]),
            regions=regions,
            attributes=attributes,
            texts=texts,
            departments={str(d) for d in frame["department"].dropna()},
        )

    def find(self, text: str) -> list[Mention]:
        return self.index.find(text)

    @cached_property
    def digest(self) -> str:
        """sha256 (hex) of everything the grounding check reads here: equal vocabularies
        (the same catalog, in any process) have equal digests."""
        h = hashlib.sha256()
        for part in (
            self.brands,
            self.categories,
            self.titles,
            self.regions,
            self.attributes,
            self.departments,
            self.words,
        ):
            for item in sorted(part):
                h.update(item.encode("utf-8") + b"\x1f")
            h.update(b"\x1e")
        return h.hexdigest()


def _plain_words(text: str) -> list[str]:
    return [p for m in _TOKEN.finditer(text) for p in word_parts(m.group())]


def _attribute_words(raw: object) -> list[str]:
    """Colour and material values of one product's attributes (JSON text or a dict)."""
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return []
    if not isinstance(parsed, dict):
        return []
    return [
        v for k, v in parsed.items() if k in ("colour", "color", "material") and isinstance(v, str)
    ]
