"""load_run_model rebuilds a run's main model, and says which file is missing and why when
it cannot."""
import json

import pytest
import torch

from vreid_lite.engine.checkpoint import CHECKPOINT_NAME, save_checkpoint
from vreid_lite.engine.model_spec import SPEC_NAME, write_model_spec
from vreid_lite.models import build_model
from vreid_lite.runs.run_model import find_model_folder, load_run_model


def tiny(num_classes=3, seed=0):
    torch.manual_seed(seed)
    return build_model("baseline", num_classes, backbone="quick_net", pretrained=None)


def trained_into(folder, model, spec=True, checkpoint=True):
    folder.mkdir(parents=True, exist_ok=True)
    if spec:
        write_model_spec(folder, model, (16, 16))
    if checkpoint:
        save_checkpoint(folder / CHECKPOINT_NAME, {"model": model.state_dict(), "epoch": 1})
    return folder


def test_the_run_model_has_the_checkpoint_weights(tmp_path):
    model = tiny()
    trained_into(tmp_path, model)
    loaded, spec = load_run_model(tmp_path)
    assert not loaded.training and spec["name"] == "baseline"
    assert spec["folder"] == str(tmp_path)
    images = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(loaded(images).embedding, model.eval()(images).embedding)


def test_a_multi_stage_run_loads_its_final_stage(tmp_path):
    """ANet keeps step1 and step2 (the final model); a stage folder given loads itself."""
    trained_into(tmp_path / "step1", tiny(seed=1))
    trained_into(tmp_path / "step2", tiny(seed=2))
    assert find_model_folder(tmp_path) == tmp_path / "step2"
    assert find_model_folder(tmp_path / "step1") == tmp_path / "step1"
    _, spec = load_run_model(tmp_path)
    assert spec["folder"] == str(tmp_path / "step2")


def test_a_model_outside_the_main_stages_is_pointed_to(tmp_path):
    trained_into(tmp_path / "cat_euclidean" / "features", tiny())
    with pytest.raises(FileNotFoundError, match="cat_euclidean/features: pass one of those"):
        load_run_model(tmp_path)


def test_a_run_from_before_model_json_says_so(tmp_path):
    trained_into(tmp_path / "mnet", tiny(), spec=False)
    with pytest.raises(FileNotFoundError, match=r"no model.json.*\(mnet\) but was made before"):
        load_run_model(tmp_path)


def test_a_notebook_that_trains_no_model_is_named(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"stem": "00_data_and_protocol"}))
    with pytest.raises(FileNotFoundError, match="notebook 00_data_and_protocol trains no model"):
        load_run_model(tmp_path)


def test_a_run_that_stopped_before_its_first_checkpoint_says_so(tmp_path):
    trained_into(tmp_path, tiny(), checkpoint=False)
    with pytest.raises(FileNotFoundError, match="before its first epoch ended"):
        load_run_model(tmp_path)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"no run folder at {tmp_path / 'gone'}"):
        load_run_model(tmp_path / "gone")


def test_a_checkpoint_that_does_not_fit_its_spec_names_both(tmp_path):
    trained_into(tmp_path, tiny(num_classes=3))
    save_checkpoint(tmp_path / CHECKPOINT_NAME, {"model": tiny(num_classes=5).state_dict()})
    with pytest.raises(ValueError, match="does not fit the model") as info:
        load_run_model(tmp_path)
    assert str(tmp_path / SPEC_NAME) in str(info.value)
