"""Model and criterion registries: ``@register_model("name")`` / ``@register_criterion("name")``.

``build_model(name, num_classes, **options)`` and ``build_criterion(name, **options)`` look a
name up. ``vreid_lite/models/__init__.py`` imports every model module by name, so the list of
models is in one place; a new model file is added to that list.
"""
from __future__ import annotations

import inspect
from typing import Callable, TypeVar

from torch import nn

T = TypeVar("T", bound=Callable)

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_CRITERIA: dict[str, Callable[..., Callable]] = {}


def _register(table: dict, kind: str, name: str) -> Callable[[T], T]:
    def decorator(builder: T) -> T:
        old = table.get(name)
        same = old is not None and (old.__module__, old.__qualname__) == (
            builder.__module__, builder.__qualname__)  # a reloaded module re-registers itself
        if old is not None and not same:
            raise ValueError(f"{kind} name {name!r} is already registered by "
                             f"{old.__module__}.{old.__qualname__}")
        table[name] = builder
        return builder
    return decorator


def register_model(name: str) -> Callable[[T], T]:
    """Register a model class or builder called as ``builder(num_classes=…, **options)``."""
    return _register(_MODELS, "model", name)


def register_criterion(name: str) -> Callable[[T], T]:
    """Register a criterion class or builder; instances map ``(output, batch)`` to a dict of
    named loss tensors plus ``"total"``."""
    return _register(_CRITERIA, "criterion", name)


def list_models() -> list[str]:
    return sorted(_MODELS)


def list_criteria() -> list[str]:
    return sorted(_CRITERIA)


def build_model(name: str, num_classes: int, **options) -> nn.Module:
    """Model ``name`` (see ``list_models()``) for ``num_classes`` training identities.

    The model keeps how it was built in ``model.build_spec`` (name, num_classes, options),
    which ``fit`` records beside its checkpoints (``vreid_lite.engine.model_spec``)."""
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; expected one of {list_models()}")
    model = _MODELS[name](num_classes=num_classes, **options)
    model.build_spec = {"name": name, "num_classes": num_classes, "options": dict(options)}
    return model


def build_criterion(name: str, **options) -> Callable:
    """Criterion ``name`` (see ``list_criteria()``), usually the model's own name."""
    if name not in _CRITERIA:
        raise ValueError(f"unknown criterion {name!r}; expected one of {list_criteria()}")
    return _CRITERIA[name](**options)


def builder_options(kind: str, name: str) -> set[str]:
    """Keyword names the registered ``kind`` (``"model"`` or ``"criterion"``) builder ``name``
    declares; empty when it is not registered (its build call then reports the error)."""
    table = {"model": _MODELS, "criterion": _CRITERIA}.get(kind)
    if table is None:
        raise ValueError(f"kind={kind!r}; expected 'model' or 'criterion'")
    builder = table.get(name)
    return set(inspect.signature(builder).parameters) if builder is not None else set()
