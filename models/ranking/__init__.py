"""Ranking: decision points and the time split, point-in-time replay, ranking features,
the training set, the ranker, the model registry and the reasons a score rests on."""
