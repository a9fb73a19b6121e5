"""Readers of real datasets in their official layouts: ``load_dataset(kind, root, **options)``."""
from __future__ import annotations

import inspect
from typing import Any, Callable

from vreid_lite.data.formats.cityflow import load_cityflow
from vreid_lite.data.formats.vehicleid import load_vehicleid
from vreid_lite.data.formats.veri776 import load_veri776
from vreid_lite.data.formats.veri_annotations import read_veri_index_file, read_veri_orientation_views
from vreid_lite.data.formats.veriwild import load_veriwild
from vreid_lite.data.records import ReIDDataset

READERS: dict[str, Callable[..., ReIDDataset]] = {
    "veri776": load_veri776,
    "vehicleid": load_vehicleid,
    "veriwild": load_veriwild,
    "cityflow": load_cityflow,
}
KINDS = tuple(READERS)


def load_dataset(kind: str, root: str, **options: Any) -> ReIDDataset:
    """Read the dataset of ``kind`` (one of :data:`KINDS`) from ``root``.

    Options: veri776 ``viewpoints`` (orientation file); vehicleid ``test_size`` (800),
    ``repeat`` (0), ``require_train`` (True); veriwild ``test_size`` (3000).
    """
    if kind not in READERS:
        raise ValueError(f"unknown dataset kind {kind!r}; expected one of {', '.join(KINDS)}")
    reader = READERS[kind]
    accepted = [p for p in inspect.signature(reader).parameters if p != "root"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for {kind}; expected some of {accepted}")
    return reader(root, **options)


__all__ = [
    "KINDS", "READERS", "load_dataset", "load_cityflow", "load_vehicleid", "load_veri776",
    "load_veriwild", "read_veri_index_file", "read_veri_orientation_views",
]
