"""What ``fit`` records: one dict of plain numbers per epoch."""
from __future__ import annotations

import math
from typing import Any


class History:
    """Per-epoch records: ``epoch`` (1-based), the mean of every loss term, ``lr``,
    ``epoch_time_s``, ``images_per_s`` and, on evaluated epochs, the evaluation metrics."""

    def __init__(self, epochs: list[dict[str, Any]] | None = None):
        self.epochs: list[dict[str, Any]] = [dict(e) for e in (epochs or [])]

    def append(self, record: dict[str, Any]) -> None:
        self.epochs.append(dict(record))

    def series(self, name: str) -> list[Any]:
        """Values of ``name`` per epoch (``None`` where an epoch lacks it, e.g. not evaluated)."""
        if not any(name in e for e in self.epochs):
            raise KeyError(f"no epoch records {name!r}; recorded: {self.names()}")
        return [e.get(name) for e in self.epochs]

    def last(self, name: str) -> Any:
        """The latest recorded value of ``name``."""
        for e in reversed(self.epochs):
            if name in e:
                return e[name]
        raise KeyError(f"no epoch records {name!r}; recorded: {self.names()}")

    def names(self) -> list[str]:
        seen: dict[str, None] = {}
        for e in self.epochs:
            seen.update(dict.fromkeys(e))
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form (non-finite floats become ``None``)."""
        return {"epochs": [{k: to_plain(v) for k, v in e.items()} for e in self.epochs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "History":
        if "epochs" not in data or not isinstance(data["epochs"], list):
            raise ValueError("a History dict needs an 'epochs' list")
        return cls(data["epochs"])

    def to_frame(self):
        """The records as a pandas DataFrame, one row per epoch."""
        import pandas as pd

        return pd.DataFrame(self.epochs)

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs: {', '.join(self.names())})"


def to_plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):  # tensors and NumPy values
        return to_plain(value.tolist())
    return value
