import pytest

from vreid_lite.data.formats import KINDS, load_dataset


def test_kinds():
    assert KINDS == ("veri776", "vehicleid", "veriwild", "cityflow")


def test_unknown_kind_lists_the_kinds(tmp_path):
    with pytest.raises(ValueError, match=r"unknown dataset kind 'market1501'.*veri776, vehicleid, veriwild, cityflow"):
        load_dataset("market1501", str(tmp_path))


def test_unknown_option_lists_the_accepted_ones(tmp_path):
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['test_sise'\] for vehicleid.*test_size"):
        load_dataset("vehicleid", str(tmp_path), test_sise=800)
