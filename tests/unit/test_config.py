"""Presets: resolved once by name, then passed on as a Preset; the fit options they carry."""
import inspect

import pytest

from vreid_lite.config import check_preset, get_preset, with_epochs
from vreid_lite.engine import fit
from vreid_lite.experiment import load_data, make_loaders


def test_fit_options_are_fit_keywords_with_the_presets_values():
    train = get_preset("quick").train
    options = train.fit_options()
    assert set(options) <= set(inspect.signature(fit).parameters)
    assert options["epochs"] == train.epochs and options["lr"] == train.lr
    assert "label_smoothing" not in options  # a criterion setting, not fit's


def test_with_epochs_replaces_only_the_epochs():
    quick = get_preset("quick")
    assert with_epochs(quick, None) is quick
    three = with_epochs(quick, 3)
    assert three.train.epochs == 3 and three.train.lr == quick.train.lr
    assert three.data == quick.data


@pytest.mark.parametrize("call", [lambda: load_data("quick"),
                                  lambda: make_loaders(None, "quick"),
                                  lambda: with_epochs("quick", 2)])
def test_a_preset_name_below_the_entry_point_is_a_clear_error(call):
    with pytest.raises(TypeError, match=r"expected a Preset \(get_preset\('quick'\)"):
        call()


def test_check_preset_passes_a_preset_through():
    quick = get_preset("quick")
    assert check_preset(quick, "here") is quick


def test_the_old_paper_preset_name_says_what_it_became():
    with pytest.raises(ValueError, match="now called 'full'.*not any paper's own"):
        get_preset("paper")
    assert get_preset("full").train.epochs == 120
