"""The synthetic shopping world: a catalog, shoppers with hidden tastes, and their sessions."""
