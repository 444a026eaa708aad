"""One recommendation: the recommender that runs retrieval and ranking for a shopper, the
final arrangement (diversity, exploration) and cold start."""
