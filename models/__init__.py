"""Candidates, the ranker, evaluation, the model registry, reasons and explanations."""
