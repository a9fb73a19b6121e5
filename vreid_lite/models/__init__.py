"""Backbones, heads, the papers' models and their registry (``build_model``, ``build_criterion``).

Every model and criterion the kit has is registered by the imports below, in the order of the
tour; a new model file is added to this list.
"""
from vreid_lite.models._registry import (build_criterion, build_model, builder_options,
                                         list_criteria, list_models, register_criterion,
                                         register_model)
from vreid_lite.models.backbones import build_backbone, list_backbones
from vreid_lite.models.output import ReIDOutput

from vreid_lite.models import baseline  # noqa: F401  baseline, notebook 01
from vreid_lite.models import scan  # noqa: F401  SCAN, notebook 02
from vreid_lite.models import mvan, mvan_criterion  # noqa: F401  MVAN, notebook 03
from vreid_lite.models import span, span_losses  # noqa: F401  SPAN, notebook 04
from vreid_lite.models import anet, anet_losses  # noqa: F401  ANet, notebook 05

__all__ = ["ReIDOutput", "build_backbone", "build_criterion", "build_model", "builder_options",
           "list_backbones", "list_criteria", "list_models", "register_criterion",
           "register_model"]
