"""What a world is made from: sizes, length, seed and start date."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from shopmode.errors import InvalidInput

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
        # Lower bounds keep every category stocked; upper bounds keep a run on one machine.
        bounds = {"users": (10, 5_000_000), "products": (50, 1_000_000), "days": (2, 3_660)}
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(
                    f"must be an integer from {low:,} to {high:,}, got {value!r}", name
                )
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
