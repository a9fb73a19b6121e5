"""``torch.compile`` that falls back to eager execution, with a warning, when it fails."""
from __future__ import annotations

import warnings

import torch
from torch import nn


class CompiledOrEager(nn.Module):
    """Runs ``torch.compile(model)``; when compiling fails (no working C++ compiler, an
    operation the compiler cannot handle, …) it warns once and runs ``model`` eagerly from
    then on. Compilation happens on the first call, so that is where a failure shows."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.eager = model
        self.compiled: nn.Module | None = torch.compile(model)

    def forward(self, *args, **kwargs):
        if self.compiled is not None:
            from torch._dynamo.exc import TorchDynamoException  # seconds to import: only here

            try:
                return self.compiled(*args, **kwargs)
            # dynamo reports an error in the model itself under this type too; the eager
            # call below then raises it as the model's own error
            except TorchDynamoException as exc:
                reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
                warnings.warn(f"torch.compile could not compile {type(self.eager).__name__} "
                              f"({reason}); running it without compilation", RuntimeWarning,
                              stacklevel=2)
                self.compiled = None
        return self.eager(*args, **kwargs)
