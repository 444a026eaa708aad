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

from typing import Literal

from models.intent.filter import Intent
from models.intent.gift import GIFT_WORDS, OCCASIONS, take_recipient, whom
from models.intent.prices import (
    BUDGET_WORDS,
    PREMIUM_WORDS,
    price_words,
    read_prices,
    tier_bounds_for,
)
from models.intent.synonyms import STOPWORDS
from models.intent.text import normalise, split_words
from models.intent.vocabulary import KIND_ORDER, IntentVocabulary, Kind
from shopmode.errors import InvalidInput

MAX_QUERY_CHARS = 500
MAX_TERMS = 24


def parse_intent(text: str, vocabulary: IntentVocabulary, *, field: str = "query") -> Intent:
    """Read a shopper's request; raise ``InvalidInput`` naming ``field`` if it is too long."""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"must be at most {MAX_QUERY_CHARS} characters", field)
    rest, low, high, _ = read_prices(normalise(text))
    tokens = split_words(rest.replace("-", " "))
    used = [False] * len(tokens)
    recipient = take_recipient(tokens, used)

    found: dict[Kind, list[str]] = {kind: [] for kind in KIND_ORDER}
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
                kind = next(k for k in KIND_ORDER if k in meanings)
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
        budget_cap, premium_floor = tier_bounds_for(vocabulary.price_tiers, found["category"])
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
    understood += price_words(low, high)
    if recipient is not None:
        understood.append(f"a gift for {whom(recipient)}")
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
