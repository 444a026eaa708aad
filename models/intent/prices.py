"""Price phrases in a request: "under $80", "$50-$100", "around 2k", "cheap", "luxury".

``read_prices`` finds amounts with the words around them (most specific pattern first) and
blanks each match out of the text, so a price is never read twice nor left as a free-text
word. "cheap" or "premium" without a number become the thirds of the catalog's prices
(``tier_bounds``), per category when one was named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_PRICE = 10_000_000.0

BUDGET_WORDS: frozenset[str] = frozenset(
    {"cheap", "cheaper", "budget", "inexpensive", "affordable", "bargain", "low cost"}
)
PREMIUM_WORDS: frozenset[str] = frozenset(
    {"premium", "luxury", "luxurious", "high end", "upscale", "top end", "designer"}
)

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
    return min(value, MAX_PRICE)


def _amounts(groups: tuple[str | None, ...]) -> list[float]:
    """Every (whole, cents, thousands) triple of a match that took part, in order."""
    found = []
    for i in range(0, len(groups) - 2, 3):
        whole = groups[i]
        if whole is not None:
            found.append(_amount(whole, groups[i + 1], groups[i + 2]))
    return found


def money(value: float) -> str:
    return f"${value:,.0f}" if value == int(value) else f"${value:,.2f}"


def read_prices(text: str) -> tuple[str, float | None, float | None, list[str]]:
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
    low = None if low is None else min(low, MAX_PRICE)
    high = None if high is None else min(high, MAX_PRICE)
    return text, low, high, said


def price_words(low: float | None, high: float | None) -> list[str]:
    if low is not None and high is not None:
        return [f"{money(low)}-{money(high)}"]
    if high is not None:
        return [f"under {money(high)}"]
    if low is not None:
        return [f"over {money(low)}"]
    return []


def tier_bounds(values: list[float]) -> tuple[float, float]:
    """(budget cap, premium floor): the prices a third and two thirds of the way up."""
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return (round(at(1 / 3), 2), round(at(2 / 3), 2))


def tier_bounds_for(
    price_tiers: Mapping[str, tuple[float, float]], categories: list[str]
) -> tuple[float | None, float | None]:
    """(budget cap, premium floor) for the named categories, else catalog-wide."""
    pairs = [price_tiers[c] for c in categories if c in price_tiers]
    if not pairs and "" in price_tiers:
        pairs = [price_tiers[""]]
    if not pairs:
        return None, None
    return max(p[0] for p in pairs), min(p[1] for p in pairs)
