"""Request and response shapes of the HTTP API (``...Base / ...Create / ...Public``)."""
