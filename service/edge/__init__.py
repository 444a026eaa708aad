"""The HTTP edge: who may call (API keys, shopper tokens), how much (rate and body limits),
and how errors and metrics look to a caller (problem details, Prometheus)."""
