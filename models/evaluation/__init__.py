"""Evaluation: held-out metrics for the ranker beside baselines and the oracle, and the
Markdown report."""
