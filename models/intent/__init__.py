"""What a shopper wants: a request in words as hard filters and free text
(``parse_intent``), and ``ProductFilter``, the one implementation of hard filters."""

from models.intent.filter import Intent
from models.intent.parse import MAX_QUERY_CHARS, MAX_TERMS, parse_intent
from models.intent.product_filter import ProductFilter
from models.intent.text import normalise
from models.intent.vocabulary import IntentVocabulary

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "Intent",
    "IntentVocabulary",
    "ProductFilter",
    "normalise",
    "parse_intent",
]
