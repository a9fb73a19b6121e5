"""Running means of named loss terms, with a check that every term stays finite."""
from __future__ import annotations

import math

import torch


class LossMeter:
    """Collects each step's loss terms as one device tensor and reads them back in bulk.

    Reading back forces a device synchronisation, so on a GPU :meth:`flush` is called every few
    steps rather than every step; the error still names the exact step.
    """

    def __init__(self, epoch: int, steps_per_epoch: int):
        self.epoch = epoch
        self.steps_per_epoch = steps_per_epoch
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._pending: list[tuple[int, list[str], torch.Tensor]] = []

    def add(self, step: int, losses: dict[str, torch.Tensor]) -> None:
        names = list(losses)
        if "total" not in losses:
            raise KeyError(f"the criterion returned terms {names}; expected one named 'total'")
        device = losses["total"].device
        values = torch.stack([torch.as_tensor(v).detach().float().reshape(()).to(device)
                              for v in losses.values()])
        self._pending.append((step, names, values))

    def flush(self) -> None:
        """Move pending values into the sums; raise ``FloatingPointError`` on a non-finite term."""
        if not self._pending:
            return
        flat = torch.cat([v for _, _, v in self._pending]).tolist()
        offset = 0
        for step, names, _ in self._pending:
            values = dict(zip(names, flat[offset:offset + len(names)]))
            offset += len(names)
            # name the culprit term before the total it makes non-finite
            for name in sorted(values, key=lambda n: n == "total"):
                if not math.isfinite(values[name]):
                    raise FloatingPointError(
                        f"loss term {name!r} is {values[name]} at epoch {self.epoch}, "
                        f"step {step + 1} of {self.steps_per_epoch}")
            for name, value in values.items():
                self.sums[name] = self.sums.get(name, 0.0) + value
                self.counts[name] = self.counts.get(name, 0) + 1
        self._pending.clear()

    def means(self) -> dict[str, float]:
        return {name: self.sums[name] / self.counts[name] for name in self.sums}
