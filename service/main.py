"""Entry point for ASGI servers: ``uvicorn service.main:create_app --factory``."""

from service.api.app import create_app

__all__ = ["create_app"]
