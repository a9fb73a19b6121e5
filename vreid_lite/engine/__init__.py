"""Training and evaluation: ``fit``, ``evaluate``, ``extract_features`` and their pieces."""
from vreid_lite.engine.checkpoint import load_checkpoint, save_checkpoint
from vreid_lite.engine.device import choose_device, seed_everything
from vreid_lite.engine.evaluate import eval_image_sets, evaluate, extract_features
from vreid_lite.engine.fit import fit, train_one_epoch
from vreid_lite.engine.history import History
from vreid_lite.engine.schedule import build_scheduler, lr_factor

__all__ = ["History", "build_scheduler", "choose_device", "eval_image_sets", "evaluate",
           "extract_features", "fit", "load_checkpoint", "lr_factor", "save_checkpoint",
           "seed_everything", "train_one_epoch"]
