"""One answer: the personalised path or, with Redis down or slow, the popularity snapshot;
hard filters, shortfall notes, timings, and the served list kept for attribution."""
