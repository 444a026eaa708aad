"""What a world is made from: sizes, length, seed and start date."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from features.errors import InvalidInput

DAY = 86_400.0


@dataclass(frozen=True)
class WorldConfig:
    """The knobs of ``generate_world``; the same config always yields the same files."""

    users: int = 10_000
    products: int = 2_000
    days: int = 28
    seed: int = 42
    start: date = date(2026, 10, 1)

    def __post_init__(self) -> None:
        for name, low in (("users", 10), ("products", 50), ("days", 2)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                raise InvalidInput(f"must be an integer of at least {low}, got {value!r}", name)
        if self.users > 5_000_000 or self.products > 1_000_000 or self.days > 3_660:
            raise InvalidInput("is larger than one machine can generate", "size")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidInput(f"must be a non-negative integer, got {self.seed!r}", "seed")

    @property
    def start_ts(self) -> float:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp()

    @property
    def end_ts(self) -> float:
        return self.start_ts + self.days * DAY

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"] = self.start.isoformat()
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorldConfig:
        return cls(
            users=int(data["users"]),
            products=int(data["products"]),
            days=int(data["days"]),
            seed=int(data["seed"]),
            start=date.fromisoformat(str(data["start"])),
        )
