"""What a running API process holds and keeps fresh: the Redis link (or the embedded
server), the catalog snapshot, the current model, the explainer and its job feed, and the
``ServiceState`` the routes share."""
