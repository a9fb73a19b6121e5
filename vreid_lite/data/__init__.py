"""Records, readers, the synthetic renderer and loaders."""
from vreid_lite.data.check import check_dataset
from vreid_lite.data.dataset import ReIDImageDataset
from vreid_lite.data.formats import load_dataset
from vreid_lite.data.loaders import EvalLoader, TrainLoader
from vreid_lite.data.records import PART_LABELS, VIEWS, DatasetError, ReIDDataset, Record
from vreid_lite.data.samplers import PKSampler
from vreid_lite.data.synthetic import ensure_synthetic, render_dataset
from vreid_lite.data.transforms import EvalTransform, TrainAugment, normalize

__all__ = ["PART_LABELS", "VIEWS", "DatasetError", "EvalLoader", "EvalTransform", "PKSampler",
           "ReIDDataset", "ReIDImageDataset", "Record", "TrainAugment", "TrainLoader",
           "check_dataset", "ensure_synthetic", "load_dataset", "normalize", "render_dataset"]
