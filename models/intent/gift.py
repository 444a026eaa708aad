"""Who or what a gift is for: "for my sister", "my dad's birthday", "a present".

Recipient and occasion never filter products; they only colour the explanation, in the
catalog-independent words of these tables, never the shopper's own.
"""

from __future__ import annotations

# "for my sister": who the present is for. Only ever changes the explanation.
RECIPIENTS: dict[str, str] = {
    "sister": "sister",
    "brother": "brother",
    "mom": "mom",
    "mum": "mum",
    "mother": "mother",
    "dad": "dad",
    "father": "father",
    "parents": "parents",
    "wife": "wife",
    "husband": "husband",
    "girlfriend": "girlfriend",
    "boyfriend": "boyfriend",
    "partner": "partner",
    "son": "son",
    "daughter": "daughter",
    "kids": "kids",
    "kid": "kid",
    "child": "child",
    "children": "children",
    "baby": "baby",
    "friend": "friend",
    "best friend": "best friend",
    "grandma": "grandma",
    "grandmother": "grandmother",
    "grandpa": "grandpa",
    "grandfather": "grandfather",
    "niece": "niece",
    "nephew": "nephew",
    "aunt": "aunt",
    "uncle": "uncle",
    "boss": "boss",
    "colleague": "colleague",
    "coworker": "coworker",
    "teacher": "teacher",
    "her": "her",
    "him": "him",
    "myself": "yourself",
    "me": "yourself",
}

OCCASIONS: dict[str, str] = {
    "birthday": "birthday",
    "bday": "birthday",
    "christmas": "Christmas",
    "xmas": "Christmas",
    "holiday": "the holidays",
    "holidays": "the holidays",
    "anniversary": "anniversary",
    "wedding": "wedding",
    "graduation": "graduation",
    "housewarming": "housewarming",
    "baby shower": "baby shower",
    "mothers day": "Mother's Day",
    "mother s day": "Mother's Day",
    "fathers day": "Father's Day",
    "father s day": "Father's Day",
    "valentines day": "Valentine's Day",
    "valentine s day": "Valentine's Day",
    "valentines": "Valentine's Day",
}

GIFT_WORDS: frozenset[str] = frozenset({"gift", "gifts", "present", "presents"})

_FOR_WORDS = frozenset({"my", "our", "a", "the", "his", "her", "their"})
_POSSESSIVE_OK = frozenset(RECIPIENTS) - {"her", "him", "me", "myself"}


def take_recipient(tokens: list[str], used: list[bool]) -> str | None:
    """Who "for my sister" / "my dad's" names, marking the words it used in ``used``."""
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


def whom(recipient: str) -> str:
    """A recipient as the explanation says it: "your sister", "her", "you"."""
    if recipient == "yourself":
        return "you"
    return recipient if recipient in ("her", "him") else f"your {recipient}"
