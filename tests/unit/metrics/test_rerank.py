"""k-reciprocal re-ranking against the independent numpy reference, its chunking, its inputs."""
import numpy as np
import pytest
import torch

from vreid_lite.metrics import (compute_distmat, pack_parts, re_ranking, rerank_distmat,
                                rerank_options)

from vreid_lite.metrics.rerank_distances import PooledDistances
from vreid_lite.metrics.rerank_steps import nearest_neighbours

from .reference_rerank import reference_re_ranking


def _clustered(q, g, dim=8, ids=6, seed=0):
    rng = np.random.default_rng(seed)
    centres = 3 * rng.normal(size=(ids, dim))
    qf = centres[rng.integers(0, ids, q)] + rng.normal(size=(q, dim))
    gf = centres[rng.integers(0, ids, g)] + rng.normal(size=(g, dim))
    return torch.tensor(qf, dtype=torch.float32), torch.tensor(gf, dtype=torch.float32)


def _three(qf, gf):
    return tuple(compute_distmat(a, b).numpy() for a, b in ((qf, gf), (qf, qf), (gf, gf)))


def _assert_parity(q_g, q_q, g_g, **kw):
    ours = re_ranking(q_g, q_q, g_g, **kw)
    assert ours.dtype == torch.float32 and ours.shape == np.shape(q_g)
    np.testing.assert_allclose(ours.numpy(), reference_re_ranking(q_g, q_q, g_g, **kw),
                               rtol=0, atol=1e-4)
    return ours


@pytest.mark.parametrize("q, g, k1, k2, lam", [
    (8, 60, 20, 6, 0.3),
    (30, 200, 20, 6, 0.3),
    (1, 25, 20, 6, 0.3),       # a single query
    (12, 70, 7, 3, 0.5),       # odd k1: k1/2 rounds half to even (3.5 -> 4)
    (12, 70, 5, 1, 0.0),       # k2 = 1: no local query expansion; lambda 0: Jaccard alone
    (6, 20, 40, 30, 1.0),      # k1 + 1 and k2 beyond N = 26: every item is a neighbour
])
def test_matches_the_reference(q, g, k1, k2, lam):
    q_g, q_q, g_g = _three(*_clustered(q, g, seed=q + g))
    _assert_parity(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lam)


def test_matches_the_reference_with_many_ties():
    rng = np.random.default_rng(3)
    qf = torch.tensor(rng.integers(0, 3, (10, 3)), dtype=torch.float64)
    gf = torch.tensor(rng.integers(0, 3, (60, 3)), dtype=torch.float64)  # duplicates galore
    q_g, q_q, g_g = _three(qf, gf)
    assert len(np.unique(g_g)) <= 10
    for k1, k2 in ((20, 6), (5, 3)):
        _assert_parity(q_g, q_q, g_g, k1=k1, k2=k2)


@pytest.mark.parametrize("k", [1, 4, 21, 70])
def test_neighbours_break_ties_by_the_lower_index(k):
    rng = np.random.default_rng(12)
    q_g, q_q, g_g = (rng.integers(1, 4, shape).astype(np.float32)
                     for shape in ((10, 60), (10, 10), (60, 60)))
    dist = PooledDistances(*(torch.tensor(m) for m in (q_g, q_q, g_g)), torch.device("cpu"))
    ranks = nearest_neighbours(dist, k, iter([(0, 4), (4, 10), (10, 37), (37, 70)]))
    pooled = np.square(np.block([[q_q, q_g], [q_g.T, g_g]])).T
    expected = np.argsort(pooled / pooled.max(axis=1, keepdims=True), axis=1, kind="stable")
    np.testing.assert_array_equal(ranks.numpy(), expected[:, :k])


def test_asymmetric_inputs_are_read_as_the_reference_reads_them():
    q_g, q_q, g_g = _three(*_clustered(10, 50, seed=4))
    rng = np.random.default_rng(4)
    q_q = q_q * rng.uniform(0.5, 1.5, q_q.shape)  # no longer symmetric, float64
    g_g = g_g * rng.uniform(0.5, 1.5, g_g.shape)
    ours = _assert_parity(q_g, q_q, g_g)
    symmetric = re_ranking(q_g, (q_q + q_q.T) / 2, (g_g + g_g.T) / 2)
    assert not torch.allclose(ours, symmetric, atol=1e-4)


def test_all_zero_distances_stay_defined():
    got = re_ranking(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((3, 3)), k1=2, k2=1)
    assert torch.isfinite(got).all()
    assert torch.equal(got, got[:1].expand(2, 3))  # identical items: identical rows


def test_reranking_changes_the_distances():
    q_g, q_q, g_g = _three(*_clustered(10, 50, seed=5))
    assert np.abs(re_ranking(q_g, q_q, g_g).numpy() - q_g).max() > 0.1


@pytest.mark.parametrize("budget", [1e-6, 2e-4, 0.05])
def test_memory_budget_does_not_change_the_result(budget):
    q_g, q_q, g_g = _three(*_clustered(25, 120, seed=6))
    whole = re_ranking(q_g, q_q, g_g)
    chunked = re_ranking(q_g, q_q, g_g, memory_budget_gb=budget)
    assert torch.equal(whole, chunked)


def test_numpy_and_tensor_inputs_agree_and_inputs_are_left_alone():
    q_g, q_q, g_g = _three(*_clustered(9, 40, seed=7))
    t = [torch.tensor(m) for m in (q_g, q_q, g_g)]
    copies = [m.clone() for m in t]
    assert torch.equal(re_ranking(q_g, q_q, g_g), re_ranking(*t))
    assert all(torch.equal(a, b) for a, b in zip(t, copies))


def test_verbose_prints_one_estimate(capsys):
    q_g, q_q, g_g = _three(*_clustered(5, 30, seed=8))
    re_ranking(q_g, q_q, g_g, verbose=False)
    assert "re_ranking:" not in capsys.readouterr().err
    re_ranking(q_g, q_q, g_g, verbose=True)
    lines = [l for l in capsys.readouterr().err.splitlines() if "re_ranking:" in l]
    assert len(lines) == 1 and "5 queries x 30 gallery" in lines[0] and " GB" in lines[0]


def test_rerank_distmat_works_on_part_features_with_cpdm():
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(40, 4, 6, generator=g)
    areas = torch.rand(40, 4, generator=g)
    areas[:, 0] = 1.0
    packed = pack_parts(feats, areas)
    q, gal = packed[:8], packed[8:]
    q_g, q_q, g_g = (compute_distmat(a, b, "cpdm").numpy() for a, b in ((q, gal), (q, q),
                                                                        (gal, gal)))
    got = rerank_distmat(q, gal, "cpdm", k1=6, k2=3)
    np.testing.assert_allclose(got.numpy(), reference_re_ranking(q_g, q_q, g_g, k1=6, k2=3),
                               atol=1e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_the_reference():
    q_g, q_q, g_g = _three(*_clustered(30, 200, seed=9))
    got = re_ranking(*(torch.tensor(m).cuda() for m in (q_g, q_q, g_g)), memory_budget_gb=1e-3)
    assert got.is_cuda
    np.testing.assert_allclose(got.cpu().numpy(), reference_re_ranking(q_g, q_q, g_g),
                               atol=1e-4)
    on_device = re_ranking(q_g, q_q, g_g, device="cuda")
    assert on_device.is_cuda and torch.equal(on_device, got)


def test_bad_inputs_are_refused_with_what_was_expected():
    q_g, q_q, g_g = _three(*_clustered(4, 10, seed=10))
    with pytest.raises(ValueError, match=r"q_q: expected a square \(4, 4\)"):
        re_ranking(q_g, q_q[:3], g_g)
    with pytest.raises(ValueError, match=r"g_g: expected a square \(10, 10\)"):
        re_ranking(q_g, q_q, g_g[:, :9])
    with pytest.raises(ValueError, match="q_g: expected a 2-D"):
        re_ranking(q_g[0], q_q, g_g)
    with pytest.raises(ValueError, match="at least one query"):
        re_ranking(q_g[:0], q_q[:0, :0], g_g)
    bad = g_g.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"g_g\[7, 2\] = nan; expected finite"):
        re_ranking(q_g, q_q, bad)
    bad = q_g.copy()
    bad[1, 3] = np.inf
    with pytest.raises(ValueError, match=r"q_g\[1, 3\] = inf"):
        re_ranking(bad, q_q, g_g)
    bad = g_g.astype(np.float64)
    bad[5, 2] = 1e20  # column 2: the distances to gallery item 2
    with pytest.raises(ValueError, match="gallery item 2 overflow float32 when squared"):
        re_ranking(q_g, q_q, bad)
    with pytest.raises(ValueError, match="numeric"):
        re_ranking(q_g.astype(str), q_q, g_g)


@pytest.mark.parametrize("kw, match", [
    ({"k1": 0}, "k1: expected a positive integer"),
    ({"k2": 2.5}, "k2: expected a positive integer"),
    ({"k1": True}, "k1: expected a positive integer"),
    ({"lambda_value": 1.5}, r"lambda_value: expected a weight in \[0, 1\]"),
    ({"memory_budget_gb": 0}, "memory_budget_gb: expected a positive size"),
])
def test_options_are_checked(kw, match):
    with pytest.raises(ValueError, match=match):
        rerank_options(**kw)
    q_g, q_q, g_g = _three(*_clustered(3, 8, seed=11))
    with pytest.raises(ValueError, match=match):
        re_ranking(q_g, q_q, g_g, **kw)


def test_rerank_options_defaults_are_the_papers():
    assert rerank_options() == {"k1": 20, "k2": 6, "lambda_value": 0.3}
    assert rerank_options(10, 3, 0.5, 2)["memory_budget_gb"] == 2.0
