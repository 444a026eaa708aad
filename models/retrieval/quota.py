"""How many candidates each retrieval source proposes (``CandidateQuota``).

The defaults suit the synthetic world; ``shopmode train`` tunes them on the validation
slice of the log it learns from (``models.retrieval.quota_tuning``) and the tuned quotas travel
with the fitted sources (``LearnedScores.quota``), so replay, evaluation and serving use
the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CandidateQuota:
    co_occurrence: int = 100
    top_category: int = 120
    top_categories: int = 3
    brand: int = 45
    top_brands: int = 3
    trending: int = 30
    new: int = 20
    query: int = 100
    popular: int = 60
    item_knn: int = 50
    content: int = 25
    popular_window: int = 60
