"""Records, readers, the synthetic renderer and loaders."""
from vreid_lite.data.records import PART_LABELS, VIEWS, DatasetError, ReIDDataset, Record

__all__ = ["PART_LABELS", "VIEWS", "DatasetError", "ReIDDataset", "Record"]
