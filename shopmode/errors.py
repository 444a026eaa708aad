"""Shopmode's domain errors. Handlers match the base classes.

ShopmodeError
├── InvalidInput          bad input from a user; names the field (HTTP 4xx, CLI exit 2)
│   ├── InvalidEvent
│   └── DataTooSmall      a log too small or too short to split in time
├── NotFound              an unknown user, product or model version (HTTP 404)
├── StoreUnavailable      Redis unreachable or too slow (HTTP 503 + Retry-After)
├── ModelError            a model missing, corrupt or not matching its metadata
└── LLMUnavailable        an LLM backend down, misconfigured or past its deadline
                          (explanations fall back to the template; never an HTTP error)
"""

from __future__ import annotations


class ShopmodeError(Exception):
    """Base of every error Shopmode raises on purpose."""


class InvalidInput(ShopmodeError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidEvent(InvalidInput):
    pass


class DataTooSmall(InvalidInput):
    pass


class NotFound(ShopmodeError):
    pass


class StoreUnavailable(ShopmodeError):
    def __init__(self, message: str = "the feature store is unavailable", retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after


class ModelError(ShopmodeError):
    pass


class LLMUnavailable(ShopmodeError):
    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.setting = setting

    def __str__(self) -> str:
        return f"{self.message} (set {self.setting})" if self.setting else self.message
