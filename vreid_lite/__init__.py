"""vreid_lite — a teaching and exploration kit for vehicle re-identification.

The names the notebooks share, below, are imported lazily (so ``vreid --help`` does not load
torch); everything else is reached through its subpackage (``vreid_lite.data``, ``vreid_lite.models``,
``vreid_lite.engine``, ``vreid_lite.viz`` …).
"""
from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "PRESETS": "vreid_lite.config", "get_preset": "vreid_lite.config",
    "DatasetError": "vreid_lite.data", "ReIDDataset": "vreid_lite.data",
    "ReIDImageDataset": "vreid_lite.data", "Record": "vreid_lite.data",
    "ensure_synthetic": "vreid_lite.data", "load_dataset": "vreid_lite.data",
    "load_marks": "vreid_lite.data.marks", "records_with_marks": "vreid_lite.data.marks",
    "choose_device": "vreid_lite.engine", "eval_image_sets": "vreid_lite.engine",
    "evaluate": "vreid_lite.engine", "extract_features": "vreid_lite.engine",
    "fit": "vreid_lite.engine", "seed_everything": "vreid_lite.engine",
    "train_one_epoch": "vreid_lite.engine",
    "masked_images": "vreid_lite.engine.activation",
    "shortcut_report": "vreid_lite.engine.activation",
    "collect_maps": "vreid_lite.engine.maps",
    "compare_cam_attention": "vreid_lite.engine.cam_comparison",
    "grad_cam": "vreid_lite.engine.gradcam",
    "fit_preset": "vreid_lite.experiment", "load_data": "vreid_lite.experiment",
    "make_loaders": "vreid_lite.experiment", "train_model": "vreid_lite.experiment",
    "evaluate_rank": "vreid_lite.metrics", "rank_metrics": "vreid_lite.metrics",
    "query_expansion": "vreid_lite.metrics", "re_ranking": "vreid_lite.metrics",
    "ReIDOutput": "vreid_lite.models", "build_criterion": "vreid_lite.models",
    "build_model": "vreid_lite.models",
    "load_runs": "vreid_lite.runs", "record": "vreid_lite.runs", "run_notebook": "vreid_lite.runs",
    "shortcut_table": "vreid_lite.viz.foreground",
    "cam_attention_figure": "vreid_lite.viz.gradcam_figure",
    "cmc_figure": "vreid_lite.viz.plots", "training_curves_figure": "vreid_lite.viz.plots",
    "RankedListExplorer": "vreid_lite.viz.ranked_list",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vreid_lite' has no attribute {name!r}")
