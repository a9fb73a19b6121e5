"""``OutputMemo``: a frozen module's outputs, remembered by the content of its input.

A frozen network in eval mode gives the same output for the same input. MVAN's V-Net is one:
every row of the notebook's ablation trains a new M-Net on the same batches (a batch is a
function of the seed and the epoch) beside the same frozen V-Net, and on a CPU its forward
pass is about a third of each training step. Remembering its outputs makes each repeated
batch free and changes no result: a hit returns exactly what the forward pass returned.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import torch


def _nbytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if hasattr(value, "__dict__"):
        return sum(_nbytes(v) for v in vars(value).values())
    return 0


class OutputMemo:
    """Least-recently-used outputs keyed by a digest of the input tensor's bytes, shape,
    dtype, the autocast state and whatever ``context`` the owner adds (its weights' dtype);
    at most ``max_bytes`` of output tensors are kept.

    Only CPU inputs outside autograd get a key (``key`` returns ``None`` otherwise): on a GPU
    hashing would copy every batch to the host, which costs more than the forward pass saves.
    Under ``torch.compile`` or ``torch.export`` (ONNX export) the input is a traced stand-in
    without bytes to hash, so nothing is remembered either.
    The owner clears the memo whenever its weights may change (loading, unfreezing).
    """

    def __init__(self, max_bytes: int = 256 * 2**20):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def key(self, images: torch.Tensor, *context: Any) -> bytes | None:
        if (images.device.type != "cpu" or images.requires_grad or torch.is_grad_enabled()
                or torch.compiler.is_compiling()):
            return None
        raw = images.detach().contiguous().reshape(-1).view(torch.uint8)  # any dtype, bf16 too
        digest = hashlib.blake2b(raw.numpy().data, digest_size=20)
        digest.update(repr((tuple(images.shape), images.dtype,
                            torch.is_autocast_enabled("cpu"), context)).encode())
        return digest.digest()

    def get(self, key: bytes | None) -> Any | None:
        if key is None or key not in self._entries:
            self.misses += key is not None
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return self._entries[key][0]

    def put(self, key: bytes | None, output: Any) -> None:
        if key is None:
            return
        size = _nbytes(output)
        if size > self.max_bytes:
            return
        if key in self._entries:
            self._bytes -= self._entries.pop(key)[1]
        self._entries[key] = (output, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
