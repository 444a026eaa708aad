"""The words of a request: normalised text, tokens, and singular/plural forms.

A request is data, never instructions: normalisation folds look-alike characters (NFKC),
drops control characters and lowercases, so only plain words reach the vocabularies.
"""

from __future__ import annotations

import re
import unicodedata


def normalise(text: str) -> str:
    """NFKC, lowercase, control and format characters as spaces, curly quotes straight."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return text.replace("’", "'").lower()


def split_words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text)


def plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def number_forms(phrase: tuple[str, ...]) -> set[tuple[str, ...]]:
    """A phrase as said, with its last word singular and plural ("running shoe(s)")."""
    if not phrase:
        return set()
    head, last = phrase[:-1], phrase[-1]
    if last.isdigit():
        return {phrase}
    return {phrase, (*head, singular(last)), (*head, plural(last))}
