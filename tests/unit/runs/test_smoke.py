"""The smoke run's pieces: the smoke preset is the standard one shrunk, its recipe renders a
set that holds exactly one P×K batch per epoch, and the driver's report reads as a table."""
from pathlib import Path

import pytest

from vreid_lite.config import get_preset
from vreid_lite.data.synthetic import render_dataset
from vreid_lite.experiment import load_data, make_loaders
from vreid_lite.runs.smoke import format_table, run_smoke, smoke_parameters

NOTEBOOKS = Path(__file__).resolve().parents[3] / "notebooks"


def test_the_smoke_preset_keeps_the_standard_networks_size_and_recipe():
    smoke, standard = get_preset("smoke"), get_preset("standard")
    assert smoke.backbone == standard.backbone
    assert smoke.data.image_size == standard.data.image_size
    assert smoke.data.cache == "off" and smoke.data.workers > 0  # batches stream, as standard's
    assert smoke.train.amp == standard.train.amp
    assert (smoke.train.lr, smoke.train.optimizer) == (standard.train.lr, standard.train.optimizer)
    assert smoke.train.epochs == 1 and not smoke.train.compile


def test_synth_smoke_renders_one_batch_per_epoch_at_the_standard_image_sizes(tmp_path):
    root = render_dataset("synth_smoke", tmp_path / "synth_smoke", workers=1)
    cfg = get_preset("smoke")
    data = load_data(cfg, data_root=root, kind="veri776")
    assert data.query and data.gallery
    assert all(r.mask_path for r in data.train)  # SPAN's step one reads part masks
    loader, num_classes = make_loaders(data, cfg, "cpu", progress=False)
    assert num_classes == cfg.data.p and len(loader) == 1
    batch = next(iter(loader))
    assert tuple(batch["images"].shape) == (cfg.data.p * cfg.data.k, 3, *cfg.data.image_size)


def test_the_report_table_names_each_notebook_and_a_failure():
    report = {"wall_s": 70.0, "notebooks": [
        {"notebook": "01_baseline", "ok": True, "wall_s": 60.0, "kernel_cpu_s": 100.0,
         "peak_rss_mib": 2048.0},
        {"notebook": "02_scan", "ok": False, "wall_s": 10.0, "kernel_cpu_s": None,
         "peak_rss_mib": None}]}
    table = format_table(report)
    assert "| 01_baseline | ok | 60 s | 100 s | 2.00 GiB |" in table
    assert "| 02_scan | FAILED | 10 s | ? | ? |" in table and "| all | | 70 s | 100 s | |" in table


def test_a_missing_notebook_is_named_before_anything_runs(tmp_path):
    with pytest.raises(FileNotFoundError, match="no_such.ipynb"):
        run_smoke(["no_such.ipynb"], tmp_path)
    assert not (tmp_path / "smoke_standard.json").exists()


def test_every_stage_with_a_fixed_epoch_count_trains_one_epoch():
    params = smoke_parameters(NOTEBOOKS / "03_mvan.ipynb")  # vnet_epochs 4, ablation_epochs 4
    assert params == {"preset": "smoke", "vnet_epochs": 1, "ablation_epochs": 1}
    assert smoke_parameters(NOTEBOOKS / "01_baseline.ipynb") == {"preset": "smoke"}
