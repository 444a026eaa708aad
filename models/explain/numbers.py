"""Numbers in an explanation: which amounts, percentages, counts and days the evidence holds.

An amount matches an evidence amount to the cent, or as that amount rounded to the
nearest whole ($80 for 79.99, never $79); a percentage matches a discount or percent fact
rounded to a whole percent (20% for 0.2); a budget phrase ("under $80") holds when the
price, or the sale price, is at or below it. Other numbers (counts, days) must equal a
fact, a day window in a fact's name (``views_7d``), or any evidence amount. Time words
("yesterday", "last week") need a day count in the evidence that makes them true.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from models.evidence import Evidence
from models.explain.problems import Problem

_NUMBER = re.compile(
    r"(?P<cur>\$\s*|usd\s*)?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<pct>\s*(?:%|percent\b|per\s+cent\b))?(?P<dollars>\s*(?:dollars|bucks|usd)\b)?",
    re.IGNORECASE,
)
_BUDGET = re.compile(
    r"(?:under|below|less\s+than|up\s+to|within|no\s+more\s+than|at\s+most|max(?:imum)?"
    r"|cheaper\s+than|beneath)\s*$",
    re.IGNORECASE,
)
_WINDOW = re.compile(r"_(\d+)d$")
_DAY_FACTS = ("days_ago", "days_since_launch")


# Time claims need a day count in the evidence that makes them true.
TIME_CLAIMS: tuple[tuple[re.Pattern[str], int, int], ...] = (
    (re.compile(r"\byesterday\b", re.I), 1, 1),
    (re.compile(r"\btoday\b|\bthis\s+morning\b", re.I), 0, 0),
    (re.compile(r"\b(?:last|this|past)\s+week\b", re.I), 0, 7),
    (re.compile(r"\b(?:last|this|past)\s+month\b", re.I), 0, 31),
    (re.compile(r"\b(?:last|this|past)\s+year\b", re.I), 0, 366),
    # "one" is no number word ("this one"), so "one day ago" is a time claim of its own
    (re.compile(r"\b(?:one|a|an|a\s+single)\s+day\s+ago\b", re.I), 1, 1),
    (re.compile(r"\b(?:one|a|an)\s+week\s+ago\b", re.I), 7, 13),
    (re.compile(r"\b(?:one|a|an)\s+month\s+ago\b", re.I), 28, 59),
)

NUMBER_WORDS: dict[str, int] = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "fifty": 50, "hundred": 100, "thousand": 1000,
    "twice": 2, "thrice": 3, "dozen": 12,
}  # fmt: skip


@dataclass
class EvidenceNumbers:
    """Every number an evidence pack holds, each with the label of the fact it comes from."""

    money: list[tuple[float, str]] = field(default_factory=list)
    percent: list[tuple[float, str]] = field(default_factory=list)
    counts: list[tuple[float, str]] = field(default_factory=list)
    days: set[int] = field(default_factory=set)
    price_ceiling: float = math.inf


def evidence_numbers(evidence: Evidence) -> EvidenceNumbers:
    n = EvidenceNumbers()
    n.money.append((evidence.price, "price"))
    n.price_ceiling = evidence.price
    if evidence.discount > 0:
        sale = evidence.price * (1 - evidence.discount)
        n.money += [(sale, "price"), (evidence.price * evidence.discount, "discount")]
        n.percent.append((evidence.discount * 100, "discount"))
        n.price_ceiling = min(evidence.price, sale)
    for reason in evidence.reasons:
        for key, value in reason.facts.items():
            label = f"{reason.code}.{key}"
            if (window := _WINDOW.search(key)) is not None:
                n.counts.append((float(window.group(1)), label))
                n.days.add(int(window.group(1)))
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if any(w in key for w in ("price", "spend", "amount", "cost")):
                n.money.append((float(value), label))
            if "pct" in key or "percent" in key:
                n.percent.append((float(value), label))
            if key in _DAY_FACTS:
                n.days.add(int(value))
            n.counts.append((float(value), label))
    n.counts += n.money + n.percent
    return n


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


def _amount_matches(said: float, fact: float) -> bool:
    return abs(said - fact) < 0.005 or (said.is_integer() and int(said) == _half_up(fact))


def number_problems(masked: str, numbers: EvidenceNumbers, cited: list[str]) -> list[Problem]:
    """Numbers not in the evidence; each one that is goes into ``cited`` by its fact label."""
    problems: list[Problem] = []
    for m in _NUMBER.finditer(masked):
        said = float(m.group("num").replace(",", ""))
        shown = m.group().strip()
        if m.group("pct"):
            label = next((lab for v, lab in numbers.percent if _half_up(said) == _half_up(v)), None)
            if label is None:
                problems.append(Problem("percent", f"{shown} is not a discount in the evidence"))
        elif m.group("cur") or m.group("dollars"):
            label = next((lab for v, lab in numbers.money if _amount_matches(said, v)), None)
            if label is None and _BUDGET.search(masked[: m.start()]):
                label = "price" if numbers.price_ceiling <= said + 0.005 else None
            if label is None:
                problems.append(Problem("price", f"{shown} is not a price in the evidence"))
        else:
            label = next((lab for v, lab in numbers.counts if _amount_matches(said, v)), None)
            if label is None:
                problems.append(Problem("number", f"{shown} is not a number in the evidence"))
        if label is not None:
            cited.append(label)
    for word in re.findall(r"[a-z]+", masked.lower()):
        value = NUMBER_WORDS.get(word)
        if value is None:
            continue
        label = next((lab for v, lab in numbers.counts if _amount_matches(value, v)), None)
        if label is None:
            problems.append(Problem("number", f"{word!r} is not a number in the evidence"))
        else:
            cited.append(label)
    return problems


# "N days ago" with a count that is neither digits nor a number word ("ia days ago",
# "some days ago", "few weeks ago"): no evidence can make a vague or garbled count true.
_VAGUE_AGO = re.compile(r"\b([a-z]+)\s+(?:days?|weeks?|months?|years?)\s+ago\b", re.I)
_COUNTED = frozenset(NUMBER_WORDS) | {"one", "a", "an", "single"}


def time_problems(masked: str, numbers: EvidenceNumbers) -> list[Problem]:
    problems: list[Problem] = []
    for pattern, low, high in TIME_CLAIMS:
        m = pattern.search(masked)
        if m and not any(low <= d <= high for d in numbers.days):
            problems.append(Problem("time", f"{m.group()!r} is not supported by the evidence"))
    for m in _VAGUE_AGO.finditer(masked):
        if m.group(1).lower() not in _COUNTED:
            problems.append(Problem("time", f"{m.group()!r} gives no count the evidence holds"))
    return problems
