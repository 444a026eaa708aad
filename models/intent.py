"""A request in words ("navy sneakers under $80 for my sister") as filters and free text.

``parse_intent(text, vocabulary)`` reads price bounds, categories and departments (by name,
synonym, singular or plural), brands (whole words, any case), colours and materials, and
who or what a gift is for. Everything it understood becomes a hard filter (``Intent.allows``);
the words left over become ``relevance_text`` for query-similarity ranking. Recipient and
occasion never filter anything: they only colour the explanation.

The text is data, never instructions: it is normalised (NFKC, control characters dropped),
matched against closed vocabularies, and what reaches an explanation is the ``understood``
summary built from catalog names, not the shopper's raw words.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from features.catalog import Catalog
from features.errors import InvalidInput
from models.intent_vocab import (
    BUDGET_WORDS,
    CATEGORY_SYNONYMS,
    COLOUR_SYNONYMS,
    DEPARTMENT_SYNONYMS,
    GIFT_WORDS,
    MATERIAL_SYNONYMS,
    OCCASIONS,
    PREMIUM_WORDS,
    RECIPIENTS,
    STOPWORDS,
)

MAX_QUERY_CHARS = 500
MAX_TERMS = 24
_MAX_PRICE = 10_000_000.0

Kind = Literal["category", "department", "brand", "colour", "material"]
# When one phrase names several kinds of thing, the more specific one wins.
_KIND_ORDER: tuple[Kind, ...] = ("brand", "category", "department", "colour", "material")


class Intent(BaseModel):
    """What a shopper asked for, as the catalog's own names."""

    model_config = ConfigDict(extra="forbid")

    min_price: float | None = Field(default=None, description="Lowest price wanted (dollars).")
    max_price: float | None = Field(default=None, description="Highest price wanted (dollars).")
    price_tier: Literal["budget", "premium"] | None = Field(
        default=None, description="'cheap'/'budget' or 'premium'/'luxury' without a number."
    )
    categories: list[str] = Field(default_factory=list)
    departments: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)
    attributes: dict[str, list[str]] = Field(
        default_factory=dict, description="Wanted attribute values, e.g. {'colour': ['Navy']}."
    )
    recipient: str | None = Field(default=None, description="Who a gift is for.")
    occasion: str | None = Field(default=None, description="What a gift is for.")
    gift: bool = False
    terms: list[str] = Field(default_factory=list, description="Words not understood as filters.")
    understood: list[str] = Field(
        default_factory=list, description="What was understood, in words a shopper can read."
    )
    relevance_text: str = Field(
        default="", description="Free text for query-similarity ranking (leftover and kind words)."
    )

    @property
    def has_filters(self) -> bool:
        return bool(
            self.min_price is not None
            or self.max_price is not None
            or self.categories
            or self.departments
            or self.brands
            or self.attributes
        )

    @property
    def is_empty(self) -> bool:
        return not (self.has_filters or self.relevance_text or self.gift or self.recipient)

    def summary(self) -> str:
        """The request as understood, e.g. "Sneakers, Navy, under $80"; safe to show an LLM."""
        return ", ".join(self.understood)

    def filter_summary(self) -> str:
        """Only the parts that filter (no recipient or occasion), for "only 3 match ..."."""
        gift_words = {f"a gift for {_whom(self.recipient)}" if self.recipient else "a gift"}
        if self.occasion:
            gift_words.add(self.occasion)
        return ", ".join(u for u in self.understood if u not in gift_words)

    def evidence_query(self, product_text: str) -> str | None:
        """What an explanation may repeat of the request for one product.

        The leftover words that the product's own text contains, then the understood
        summary: never the raw message, so nothing typed can steer the explanation.
        """
        own = set(_tokens(normalise(product_text).replace("-", " ")))
        matched = " ".join(term for term in self.terms if term in own)
        parts = ([matched] if matched else []) + self.understood
        return ", ".join(parts) or None

    def allows(
        self,
        *,
        category: str,
        department: str,
        brand: str,
        price: float,
        attributes: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether a product passes every hard filter (a named category beats a department)."""
        if self.min_price is not None and price < self.min_price:
            return False
        if self.max_price is not None and price > self.max_price:
            return False
        if self.categories:
            if category not in self.categories:
                return False
        elif self.departments and department not in self.departments:
            return False
        if self.brands and brand not in self.brands:
            return False
        have = attributes or {}
        return all(
            str(have.get(name, "")).casefold() in {w.casefold() for w in wanted}
            for name, wanted in self.attributes.items()
        )

    def mask(self, catalog: Catalog) -> npt.NDArray[np.bool_]:
        """``allows`` over the whole catalog at once (list prices, as the answer shows)."""
        keep = np.ones(len(catalog), dtype=np.bool_)
        if self.min_price is not None:
            keep &= catalog.price >= self.min_price
        if self.max_price is not None:
            keep &= catalog.price <= self.max_price
        if self.categories:
            keep &= _named(catalog.categories, catalog.category_code, self.categories)
        elif self.departments:
            departments = _columns(catalog).department
            keep &= np.isin(departments, [d.casefold() for d in self.departments])
        if self.brands:
            keep &= _named(catalog.brands, catalog.brand_code, self.brands)
        for name, wanted in self.attributes.items():
            values = _columns(catalog).attributes.get(name)
            if values is None:
                return np.zeros(len(catalog), dtype=np.bool_)
            keep &= np.isin(values, [w.casefold() for w in wanted])
        return keep

    def allows_position(self, catalog: Catalog, position: int) -> bool:
        """``allows`` for the product at a catalog position."""
        if not self.has_filters:
            return True
        columns = _columns(catalog)
        brand_code = int(catalog.brand_code[position])
        return self.allows(
            category=catalog.categories[int(catalog.category_code[position])],
            department=str(catalog.frame["department"].iat[position] or ""),
            brand=catalog.brands[brand_code] if brand_code >= 0 else "",
            price=float(catalog.price[position]),
            attributes={name: str(v[position]) for name, v in columns.attributes.items()},
        )


def _named(
    vocabulary: tuple[str, ...], codes: npt.NDArray[np.integer], names: list[str]
) -> npt.NDArray[np.bool_]:
    wanted = {n.casefold() for n in names}
    hits = [i for i, name in enumerate(vocabulary) if name.casefold() in wanted]
    return np.isin(codes, np.asarray(hits, dtype=np.int64))


@dataclass(frozen=True)
class _CatalogColumns:
    department: npt.NDArray[np.str_]
    attributes: dict[str, npt.NDArray[np.str_]]


# Derived data per catalog content. The service reloads its catalog snapshot every few
# seconds as a new object; the content (and so the fingerprint) rarely changes.
_FINGERPRINTS: weakref.WeakKeyDictionary[Catalog, str] = weakref.WeakKeyDictionary()
_COLUMNS: dict[str, _CatalogColumns] = {}
_VOCABULARIES: dict[str, IntentVocabulary] = {}
_KEEP = 4


def _fingerprint(catalog: Catalog) -> str:
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


def _remember(cache: dict[str, Any], key: str, value: Any) -> None:
    if len(cache) >= _KEEP:
        cache.pop(next(iter(cache)))
    cache[key] = value


def _attribute_dicts(catalog: Catalog) -> list[dict[str, Any]]:
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


def _columns(catalog: Catalog) -> _CatalogColumns:
    # Parsing attribute JSON costs milliseconds per thousand products: once per catalog.
    key = _fingerprint(catalog)
    found = _COLUMNS.get(key)
    if found is None:
        rows = _attribute_dicts(catalog)
        names = sorted({key for row in rows for key, v in row.items() if isinstance(v, str)})
        found = _CatalogColumns(
            department=np.array(
                [str(d).casefold() for d in catalog.frame["department"].fillna("").tolist()]
            ),
            attributes={
                name: np.array([str(row.get(name, "")).casefold() for row in rows])
                for name in names
            },
        )
        _remember(_COLUMNS, key, found)
    return found


def _tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text)


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def _number_forms(phrase: tuple[str, ...]) -> set[tuple[str, ...]]:
    if not phrase:
        return set()
    head, last = phrase[:-1], phrase[-1]
    if last.isdigit():
        return {phrase}
    return {phrase, (*head, _singular(last)), (*head, _plural(last))}


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
            phrase = tuple(_tokens(phrase_text.lower()))
            forms = _number_forms(phrase) if inflect else {phrase}
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
        key = _fingerprint(catalog)
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
                for i, attrs in enumerate(_attribute_dicts(catalog))
            )
            found = cls.from_products(rows)
            _remember(_VOCABULARIES, key, found)
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
        tiers = {name: _tier_bounds(values) for name, values in prices.items() if values}
        return cls(categories, brands, colours, materials, tiers)


def _tier_bounds(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return (round(at(1 / 3), 2), round(at(2 / 3), 2))


# An amount: "$1,200", "usd 80", "49.99", "2k". Three groups: whole, cents, thousands.
_AMOUNT = r"(\d{1,3}(?:,\d{3}){1,3}|\d{1,9})(?:\.(\d{1,2}))?(\s*k\b)?"
_NUM = rf"(?:\$|\busd\s*|\bus\$)?\s*{_AMOUNT}"
_CUR = r"(?:\s*(?:dollars?|bucks|usd)\b)?"
_CURRENCY_WORD = r"\s*(?:dollars?|bucks|usd)\b"
_PRICE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("range", rf"\bbetween\s+{_NUM}{_CUR}\s+and\s+{_NUM}{_CUR}"),
        ("range", rf"(?:\bfrom\s+)?\${_AMOUNT}{_CUR}\s*(?:-|–|to)\s*{_NUM}{_CUR}"),
        ("range", rf"\b{_AMOUNT}\s*(?:-|–|to)\s*{_NUM}{_CURRENCY_WORD}"),
        (
            "max",
            rf"(?:\bunder|\bbelow|\bless\s+than|\bcheaper\s+than|\bno\s+more\s+than"
            rf"|\bnot\s+more\s+than|\bat\s+most|\bup\s+to|\bmax(?:imum)?|\bwithin|<=?)"
            rf"\s*{_NUM}{_CUR}",
        ),
        (
            "min",
            rf"(?:\bover|\babove|\bmore\s+than|\bat\s+least|\bmin(?:imum)?|\bstarting\s+at"
            rf"|>=?)\s*{_NUM}{_CUR}",
        ),
        ("max", rf"{_NUM}{_CUR}\s+(?:or\s+less|or\s+under|or\s+below|or\s+cheaper|max\b|tops\b)"),
        ("min", rf"{_NUM}{_CUR}\s+(?:or\s+more|or\s+over|or\s+above|and\s+up)\b"),
        ("around", rf"(?:\baround|\babout|\broughly|\bapprox(?:imately)?|~)\s*{_NUM}{_CUR}"),
        ("max", rf"(?:\$|\busd\s*|\bus\$)\s*{_AMOUNT}{_CUR}"),
        ("max", rf"\b{_AMOUNT}{_CURRENCY_WORD}"),
        # "laptop 1000-1500": a bare range of two amounts of at least 20 (not sizes or ages).
        ("bare_range", rf"(?<![\w.$]){_AMOUNT}\s*(?:-|–)\s*{_AMOUNT}(?![\w.])"),
    )
)
_NOT_A_PRICE = re.compile(r"\b(?:size|sizes|sized|age|ages|aged|year|years|pack|set|of)\s*$")


def _amount(whole: str, cents: str | None, thousands: str | None) -> float:
    value = float(whole.replace(",", "")) + (float("0." + cents) if cents else 0.0)
    if thousands:
        value *= 1000
    return min(value, _MAX_PRICE)


def _amounts(groups: tuple[str | None, ...]) -> list[float]:
    """Every (whole, cents, thousands) triple of a match that took part, in order."""
    found = []
    for i in range(0, len(groups) - 2, 3):
        whole = groups[i]
        if whole is not None:
            found.append(_amount(whole, groups[i + 1], groups[i + 2]))
    return found


def _money(value: float) -> str:
    return f"${value:,.0f}" if value == int(value) else f"${value:,.2f}"


def normalise(text: str) -> str:
    """NFKC, lowercase, control and format characters as spaces, curly quotes straight."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return text.replace("’", "'").lower()


def _read_prices(text: str) -> tuple[str, float | None, float | None, list[str]]:
    low: float | None = None
    high: float | None = None
    said: list[str] = []
    for kind, pattern in _PRICE_PATTERNS:
        for match in list(pattern.finditer(text)):
            found = _amounts(match.groups())
            if kind == "bare_range":
                if min(found) < 20 or _NOT_A_PRICE.search(text[: match.start()]):
                    continue
                kind = "range"
            if kind == "range":
                low, high = min(found[0], found[1]), max(found[0], found[1])
            elif kind == "max":
                high = found[0] if high is None else min(high, found[0])
            elif kind == "min":
                low = found[0] if low is None else max(low, found[0])
            else:
                low, high = round(found[0] * 0.8, 2), round(found[0] * 1.2, 2)
            said.append(kind)
            text = text[: match.start()] + " " * (match.end() - match.start()) + text[match.end() :]
    if low is not None and high is not None and low > high:
        low, high = high, low
    low = None if low is None else min(low, _MAX_PRICE)
    high = None if high is None else min(high, _MAX_PRICE)
    return text, low, high, said


def _price_words(low: float | None, high: float | None) -> list[str]:
    if low is not None and high is not None:
        return [f"{_money(low)}-{_money(high)}"]
    if high is not None:
        return [f"under {_money(high)}"]
    if low is not None:
        return [f"over {_money(low)}"]
    return []


_FOR_WORDS = frozenset({"my", "our", "a", "the", "his", "her", "their"})
_POSSESSIVE_OK = frozenset(RECIPIENTS) - {"her", "him", "me", "myself"}


def _take_recipient(tokens: list[str], used: list[bool]) -> str | None:
    for i, token in enumerate(tokens):
        starts_for = token == "for"
        if not starts_for and token not in ("my", "our"):
            continue
        j = i + 1
        if starts_for and j < len(tokens) and tokens[j] in _FOR_WORDS:
            # "for her" names the recipient itself; "for her sister" goes on to "sister".
            if tokens[j] == "her" and (j + 1 >= len(tokens) or tokens[j + 1] not in RECIPIENTS):
                used[i] = used[j] = True
                return "her"
            j += 1
        for length in (2, 1):
            phrase = " ".join(tokens[j : j + length])
            allowed = RECIPIENTS if starts_for else _POSSESSIVE_OK
            if len(tokens[j : j + length]) == length and phrase in allowed:
                for k in range(i, j + length):
                    used[k] = True
                return RECIPIENTS[phrase]
    return None


def parse_intent(text: str, vocabulary: IntentVocabulary, *, field: str = "query") -> Intent:
    """Read a shopper's request; raise ``InvalidInput`` naming ``field`` if it is too long."""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"must be at most {MAX_QUERY_CHARS} characters", field)
    rest, low, high, _ = _read_prices(normalise(text))
    tokens = _tokens(rest.replace("-", " "))
    used = [False] * len(tokens)
    recipient = _take_recipient(tokens, used)

    found: dict[Kind, list[str]] = {kind: [] for kind in _KIND_ORDER}
    kind_words: list[str] = []
    occasion: str | None = None
    gift = recipient is not None
    tier: Literal["budget", "premium"] | None = None
    i = 0
    while i < len(tokens):
        if used[i]:
            i += 1
            continue
        matched = 0
        for length in range(min(vocabulary.longest_phrase, len(tokens) - i), 0, -1):
            if any(used[i : i + length]):
                continue
            phrase = tuple(tokens[i : i + length])
            words = " ".join(phrase)
            meanings = vocabulary.lookup(phrase)
            if meanings:
                kind = next(k for k in _KIND_ORDER if k in meanings)
                for name in sorted(meanings[kind]):
                    if name not in found[kind]:
                        found[kind].append(name)
                kind_words.append(words)
            elif words in OCCASIONS:
                occasion = OCCASIONS[words]
                gift = True
            elif words in BUDGET_WORDS:
                tier = "budget"
            elif words in PREMIUM_WORDS:
                tier = "premium"
            elif words in GIFT_WORDS:
                gift = True
            else:
                continue
            matched = length
            break
        for k in range(i, i + max(matched, 1)):
            used[k] = used[k] or matched > 0
        i += max(matched, 1)

    terms: list[str] = []
    for token, taken in zip(tokens, used, strict=True):
        if taken or token in STOPWORDS or token.isdigit() or len(token) < 2:
            continue
        if token not in terms and len(terms) < MAX_TERMS:
            terms.append(token)

    if tier is not None and low is None and high is None:
        budget_cap, premium_floor = _tier_for(vocabulary, found["category"])
        if tier == "budget" and budget_cap is not None:
            high = budget_cap
        elif tier == "premium" and premium_floor is not None:
            low = premium_floor

    attributes = {
        name: values
        for name, values in (("colour", found["colour"]), ("material", found["material"]))
        if values
    }
    understood: list[str] = []
    understood += found["category"] or found["department"]
    understood += [f"brand {b}" for b in found["brand"]]
    understood += found["colour"] + found["material"]
    if tier is not None:
        understood.append(tier)
    understood += _price_words(low, high)
    if recipient is not None:
        understood.append(f"a gift for {_whom(recipient)}")
    elif gift:
        understood.append("a gift")
    if occasion is not None:
        understood.append(occasion)
    return Intent(
        min_price=low,
        max_price=high,
        price_tier=tier,
        categories=found["category"],
        departments=[] if found["category"] else found["department"],
        brands=found["brand"],
        attributes=attributes,
        recipient=recipient,
        occasion=occasion,
        gift=gift,
        terms=terms,
        understood=understood,
        relevance_text=" ".join([*kind_words, *terms]),
    )


def _whom(recipient: str) -> str:
    if recipient == "yourself":
        return "you"
    return recipient if recipient in ("her", "him") else f"your {recipient}"


def _tier_for(
    vocabulary: IntentVocabulary, categories: list[str]
) -> tuple[float | None, float | None]:
    pairs = [vocabulary.price_tiers[c] for c in categories if c in vocabulary.price_tiers]
    if not pairs and "" in vocabulary.price_tiers:
        pairs = [vocabulary.price_tiers[""]]
    if not pairs:
        return None, None
    return max(p[0] for p in pairs), min(p[1] for p in pairs)
