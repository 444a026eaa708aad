"""Retrieval: the few hundred candidates worth ranking for one shopper at one time, each
tagged with the sources that found it (co-occurrence, categories, brands, trending, new,
the request's text, popularity)."""
