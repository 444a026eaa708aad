"""Is a word ordinary English, or a name the catalog uses?

A 135M model mangles names into words that exist nowhere ("coppertrace" for the brand
Coppertrail). A text may use only words found in a dictionary of ordinary English (the
English frequency list shipped with ``pyspellchecker``, ~160k words), in the catalog's own
vocabulary (titles, categories, departments, descriptions, attribute values) or in the
evidence pack. Brand names are deliberately not ordinary words: a brand must be written
as the name it is, and the brand check decides whether it may be named at all.
"""

from __future__ import annotations

import re
from functools import lru_cache

_SPLIT = re.compile(r"[-–/]")
_POSSESSIVE = re.compile(r"'s$")


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    from spellchecker import SpellChecker

    # Loaded once per process (~0.3 s); the frequency list, not the spelling corrector.
    words = SpellChecker(language="en", distance=1).word_frequency.dictionary
    return frozenset(words)


def load_dictionary() -> None:
    """Load the English word list now (a worker or service start), not on the first check."""
    _english()


def word_parts(word: str) -> list[str]:
    """``Noise-Cancelling`` → ``noise``, ``cancelling``; ``Ember's`` → ``ember``."""
    lowered = word.lower().replace("’", "'")
    return [_POSSESSIVE.sub("", part) for part in _SPLIT.split(lowered) if part]


def is_english(word: str) -> bool:
    """A lower-case word (or contraction) from the dictionary of ordinary English."""
    english = _english()
    if word in english:
        return True
    stem, _, tail = word.partition("'")
    return bool(tail) and stem in english
