"""The FastAPI application: ``create_app`` and its lifespan, dependencies, routes and the
shop page's static files."""
