"""vreid_lite — a teaching and exploration kit for vehicle re-identification.

The small public API below is imported lazily (so ``vreid --help`` does not load torch);
everything else is reached through its subpackage (``vreid_lite.data``, ``vreid_lite.models``,
``vreid_lite.engine``, ``vreid_lite.viz`` …).
"""
from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "PRESETS": "vreid_lite.config", "get_preset": "vreid_lite.config",
    "DatasetError": "vreid_lite.data", "ReIDDataset": "vreid_lite.data",
    "Record": "vreid_lite.data", "ensure_synthetic": "vreid_lite.data",
    "load_dataset": "vreid_lite.data",
    "evaluate": "vreid_lite.engine", "extract_features": "vreid_lite.engine",
    "fit": "vreid_lite.engine",
    "evaluate_rank": "vreid_lite.metrics", "rank_metrics": "vreid_lite.metrics",
    "ReIDOutput": "vreid_lite.models", "build_criterion": "vreid_lite.models",
    "build_model": "vreid_lite.models",
    "load_runs": "vreid_lite.runs", "record": "vreid_lite.runs", "run_notebook": "vreid_lite.runs",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vreid_lite' has no attribute {name!r}")
