"""Per-query AP: the same numbers as the averaged metrics, and restricted to some true matches."""
import numpy as np
import pytest
import torch

from vreid_lite.metrics import evaluate_rank
from vreid_lite.metrics.query_ap import query_average_precisions


def random_case(seed=0, nq=25, ng=70):
    rng = np.random.default_rng(seed)
    return (rng.random((nq, ng)), rng.integers(0, 8, nq), rng.integers(0, 8, ng),
            rng.integers(0, 3, nq), rng.integers(0, 3, ng))


def test_mean_of_query_aps_is_the_map():
    dist, qp, gp, qc, gc = random_case()
    aps = query_average_precisions(dist, qp, gp, qc, gc)
    _, mAP, _ = evaluate_rank(torch.tensor(dist), qp, gp, qc, gc)
    assert np.nanmean(aps) == pytest.approx(mAP, abs=1e-12)
    _, mAP_all, _ = evaluate_rank(torch.tensor(dist), qp, gp, remove_same_camera=False)
    assert np.nanmean(query_average_precisions(dist, qp, gp)) == pytest.approx(mAP_all)


def test_hand_made_query_with_junk_and_a_set_aside_match():
    # gallery ranked by distance: g0 junk (id 1, cam 1), g1 wrong, g2 correct, g3 correct
    dist = [[0.1, 0.2, 0.3, 0.4]]
    args = ([1], [1, 5, 1, 1], [1], [1, 2, 2, 3])
    assert query_average_precisions(dist, *args)[0] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # only g3 counts: g2 is set aside, so g3 is second among (g1, g3)
    counted = [[True, True, False, True]]
    assert query_average_precisions(dist, *args, counted=counted)[0] == pytest.approx(1 / 2)


def test_a_query_without_a_counted_match_is_nan():
    aps = query_average_precisions([[0.1, 0.2]], [1], [2, 3], [0], [0, 0])
    assert np.isnan(aps[0])
    aps = query_average_precisions([[0.1, 0.2]], [1], [1, 3], [0], [1, 1], counted=[[False, True]])
    assert np.isnan(aps[0])


@pytest.mark.parametrize("bad, message", [
    (dict(distmat=[[np.nan, 1.0]]), r"distmat\[0, 0\] = nan"),
    (dict(q_pids=[1, 2]), "q_pids: expected 1 ids"),
    (dict(counted=[[True]]), "counted: expected shape"),
    (dict(g_camids=None), "give both or neither"),
])
def test_bad_input_is_named(bad, message):
    args = dict(distmat=[[0.1, 0.2]], q_pids=[1], g_pids=[1, 2], q_camids=[0], g_camids=[1, 1])
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        query_average_precisions(**args)
