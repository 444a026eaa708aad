"""The Shopmode REST service and CLI."""
