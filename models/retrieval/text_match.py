"""Free-text requests matched against the catalog: TF-IDF over titles and descriptions.

Built once per catalog (a few ms for thousands of products) and kept in process; one
query costs a sparse vector-matrix product.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from features.catalog import Catalog

FloatArray = npt.NDArray[np.float64]


class QueryIndex:
    """Cosine similarity of a query to each product's text (title, description, category,
    brand), aligned with the catalog's positions."""

    def __init__(self, catalog: Catalog) -> None:
        frame = catalog.frame
        parts = [frame["title"].fillna("").astype(str)]
        for column in ("description", "category", "brand", "department"):
            if column in frame.columns:
                parts.append(frame[column].fillna("").astype(str))
        # Titles and categories weigh double: they name what the product is.
        text = parts[0] + " " + parts[0]
        for part in parts[1:]:
            text = text + " " + part
        self._vectorizer = TfidfVectorizer(
            sublinear_tf=True, ngram_range=(1, 2), min_df=1, stop_words="english"
        )
        self._matrix: sp.csr_matrix = self._vectorizer.fit_transform(text.tolist()).tocsr()
        self.n_products = len(catalog)

    def scores(self, query: str | None) -> FloatArray:
        """Similarity in [0, 1] per product; all zeros for an empty or unknown query."""
        if not query or not query.strip():
            return np.zeros(self.n_products, dtype=np.float64)
        vector = self._vectorizer.transform([query])
        return np.asarray((self._matrix @ vector.T).toarray()).ravel().astype(np.float64)
