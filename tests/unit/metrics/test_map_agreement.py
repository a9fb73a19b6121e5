"""Agreement of two maps: rank correlation and top-region IoU on hand-made maps."""
import math

import numpy as np
import pytest
import torch

from vreid_lite.metrics.map_agreement import (map_agreement, rank_correlations, top_region,
                                              top_region_chance, top_region_ious)


def ramp(n: int = 10) -> torch.Tensor:
    return torch.arange(n * n, dtype=torch.float32).view(1, n, n)


def test_a_map_agrees_with_itself_and_not_with_its_reverse():
    a = ramp()
    assert rank_correlations(a, a)[0] == pytest.approx(1.0)
    assert top_region_ious(a, a)[0] == pytest.approx(1.0)
    assert rank_correlations(a, -a)[0] == pytest.approx(-1.0)
    assert top_region_ious(a, -a)[0] == 0.0


def test_the_correlation_ignores_monotone_changes():
    a = ramp()
    assert rank_correlations(a, a.pow(3) + 7)[0] == pytest.approx(1.0)


def test_a_flat_map_has_no_agreement_to_report():
    flat = torch.ones(1, 10, 10)
    assert math.isnan(rank_correlations(ramp(), flat)[0])
    assert top_region_ious(ramp(), flat)[0] == 0.0
    assert math.isnan(top_region_ious(flat, flat)[0])


def test_the_top_region_leaves_out_the_minimum():
    heat = torch.zeros(10, 10)
    heat[0, :5] = 1.0  # 5 % of the pixels above zero
    assert int(top_region(heat, 0.2).sum()) == 5
    assert int(top_region(ramp()[0], 0.2).sum()) == 20


def test_maps_of_different_sizes_meet_at_the_larger():
    small = torch.zeros(1, 2, 2)
    small[0, 0, 0] = 1.0
    large = torch.zeros(1, 8, 8)
    large[0, :4, :4] = 1.0
    assert rank_correlations(small, large)[0] > 0.5


def test_random_regions_meet_at_the_chance_iou():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(200, 20, 20, generator=g), torch.rand(200, 20, 20, generator=g)
    summary = map_agreement(a, b)
    assert summary["top_iou"] == pytest.approx(top_region_chance(0.2), abs=0.01)
    assert summary["rank_correlation"] == pytest.approx(0.0, abs=0.01)
    assert top_region_chance(0.2) == pytest.approx(1 / 9)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="same N"):
        rank_correlations(torch.ones(2, 4, 4), torch.ones(3, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        top_region_ious(torch.full((1, 4, 4), np.nan), torch.ones(1, 4, 4))
    with pytest.raises(ValueError, match="top="):
        top_region(torch.ones(4, 4), 1.5)
