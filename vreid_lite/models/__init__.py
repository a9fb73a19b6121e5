"""Backbones, heads, the papers' models and their registry (``build_model``, ``build_criterion``)."""
from vreid_lite.models.backbones import build_backbone, list_backbones
from vreid_lite.models.output import ReIDOutput
from vreid_lite.models.registry import (build_criterion, build_model, list_criteria, list_models,
                                        register_criterion, register_model)

__all__ = ["ReIDOutput", "build_backbone", "build_criterion", "build_model", "list_backbones",
           "list_criteria", "list_models", "register_criterion", "register_model"]
