"""Content similarity: from what a shopper engaged with to catalog products that read alike.

The only source that can find a product nobody has engaged with yet: each product is a
TF-IDF vector over its title, category, department, brand, description and attributes
(string values as words; other values as ``name=value`` tokens, so "year=1995" matches
only itself). A shopper's profile is the weighted sum of the vectors of their history;
a product's score is its cosine with that profile.

Pure: no Redis, no clock; built once per catalog.
"""

from __future__ import annotations

import json
import re

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from features.catalog import Catalog
from models.retrieval.interactions import top_rows

FloatArray = npt.NDArray[np.float32]

TEXT_COLUMNS = ("title", "category", "department", "brand", "description")
_SEPARATORS = re.compile(r"[|/>,;]+")


def _attribute_words(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        return ""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    words = []
    for name, value in sorted(parsed.items()):
        if isinstance(value, str):
            words.append(value)
        elif isinstance(value, list):
            words.extend(str(v) for v in value)
        elif value is not None:
            words.append(f"{name}={value}")
    return " ".join(words)


def product_texts(catalog: Catalog) -> list[str]:
    """One document per catalog position."""
    frame = catalog.frame
    parts = [
        frame[c].fillna("").astype(str).tolist() if c in frame.columns else [""] * len(catalog)
        for c in TEXT_COLUMNS
    ]
    attributes = [_attribute_words(a) for a in frame["attributes"].tolist()]
    return [
        _SEPARATORS.sub(" ", " ".join(fields)) for fields in zip(*parts, attributes, strict=True)
    ]


class ContentIndex:
    """TF-IDF product vectors (rows L2-normalised), aligned with catalog positions."""

    def __init__(self, min_df: int = 1, max_features: int = 50_000) -> None:
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, catalog: Catalog) -> ContentIndex:
        vectorizer = TfidfVectorizer(
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            token_pattern=r"(?u)\b[\w=.-]+\b",
            dtype=np.float32,
        )
        self.vectors_ = sp.csr_matrix(vectorizer.fit_transform(product_texts(catalog)))
        self.vectorizer_ = vectorizer
        return self

    def profiles(self, histories: sp.csr_matrix) -> sp.csr_matrix:
        """Each history (rows × catalog positions, weights) as a unit vector."""
        return sp.csr_matrix(normalize(histories @ self.vectors_))

    def scores(self, histories: sp.csr_matrix) -> FloatArray:
        """Cosine of every product with each history's profile."""
        profile = self.profiles(histories)
        return np.asarray((profile @ self.vectors_.T).toarray(), dtype=np.float32)

    def neighbours(self, width: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
        """Products that read most alike, per product (for storing like co-occurrence)."""
        return top_rows(sp.csr_matrix(self.vectors_ @ self.vectors_.T), width)
