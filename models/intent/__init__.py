"""Ask in words: a request's text as hard filters and free text (``parse_intent``)."""

from models.intent.filter import Intent
from models.intent.parse import MAX_QUERY_CHARS, MAX_TERMS, parse_intent
from models.intent.text import normalise
from models.intent.vocabulary import IntentVocabulary

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "Intent",
    "IntentVocabulary",
    "normalise",
    "parse_intent",
]
