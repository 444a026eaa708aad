"""Training objectives side by side: the same training rows, one ranker per objective.

``shopmode evaluate --compare-objectives`` fits a pointwise and a LambdaMART ranker on
the rows the current model was trained from (the same decisions, negatives and seed, so
the objective is the only difference) and scores both on the held-out decisions beside
the served model (``models.evaluation``, ``challengers``).
"""

from __future__ import annotations

from dataclasses import replace

from models.ranking.ranker import OBJECTIVES, ShopRanker
from models.ranking.registry import ModelMetadata
from models.ranking.training import Prepared, Stage, TrainConfig, fit_ranker, training_rows

DEFAULTS = TrainConfig()


def config_of(meta: ModelMetadata) -> TrainConfig:
    """The training configuration a registered model was trained with."""
    params = meta.params
    seed = params.get("random_state")
    return TrainConfig(
        objective=str(params.get("objective", DEFAULTS.objective)),
        test_days=meta.test_days,
        max_train_decisions=int(meta.metrics.get("train_decisions", DEFAULTS.max_train_decisions)),
        negatives=int(params.get("negatives", DEFAULTS.negatives)),
        seed=DEFAULTS.seed if seed is None else int(seed),
        learning_rate=float(params.get("learning_rate", DEFAULTS.learning_rate)),
        max_iter=int(params.get("max_iter", DEFAULTS.max_iter)),
        max_leaf_nodes=int(params.get("max_leaf_nodes", DEFAULTS.max_leaf_nodes)),
        min_samples_leaf=int(params.get("min_samples_leaf", DEFAULTS.min_samples_leaf)),
    )


def objective_rankers(
    prepared: Prepared, config: TrainConfig, progress: Stage | None = None
) -> dict[str, ShopRanker]:
    """``ranker_<objective>`` for every objective, fitted on one shared training set."""
    training = training_rows(prepared, config, progress)
    return {
        f"ranker_{objective}": fit_ranker(training, replace(config, objective=objective))
        for objective in OBJECTIVES
    }
