"""The behavioural-signal feature store: events, feature definitions, online and offline engines."""
