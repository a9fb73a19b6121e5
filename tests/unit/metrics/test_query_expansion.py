"""α-weighted query expansion, and the post-processing options of retrieval_metrics."""
import pytest
import torch
import torch.nn.functional as F

from vreid_lite.metrics import (pack_parts, query_expansion, query_expansion_options,
                                rank_metrics, resolve_query_expansion, resolve_rerank,
                                retrieval_metrics)

Q = torch.tensor([[1.0, 0.0, 0.0]])
G = torch.tensor([[2.0, 0.2, 0.0],    # cos ~0.995 to Q
                  [0.0, 3.0, 0.0],    # cos 0
                  [1.0, 1.0, 0.0],    # cos ~0.707
                  [-1.0, 0.0, 0.0]])  # cos -1


def test_average_query_expansion_is_alpha_zero():
    q, g = query_expansion(Q, G, top_k=2, alpha=0.0)
    gn = F.normalize(G, dim=1)
    assert torch.allclose(g, gn)
    assert torch.allclose(q, F.normalize(Q + gn[0] + gn[2], dim=1), atol=1e-6)


def test_alpha_weights_neighbours_by_similarity_to_the_power_alpha():
    q, _ = query_expansion(Q, G, top_k=3, alpha=3.0)
    gn = F.normalize(G, dim=1)
    s = (gn @ Q[0]).clamp_min(0) ** 3   # the third neighbour (cos 0) adds nothing
    expected = F.normalize(Q[0] + s[0] * gn[0] + s[2] * gn[2] + s[1] * gn[1], dim=0)
    assert torch.allclose(q[0], expected, atol=1e-6)
    assert q.norm(dim=1).sub(1).abs().max() < 1e-6


def test_dissimilar_neighbours_count_as_zero():
    q, _ = query_expansion(torch.tensor([[-1.0, 0.0, 0.0]]), G[1:2], top_k=1, alpha=1.0)
    assert torch.allclose(q, torch.tensor([[-1.0, 0.0, 0.0]]))  # cos 0 -> weight 0


def test_expand_gallery_leaves_each_item_out_of_its_own_neighbours():
    _, g = query_expansion(Q, G[:3], top_k=1, alpha=0.0, expand_gallery=True)
    gn = F.normalize(G[:3], dim=1)
    # nearest other items: 0 -> 2, 1 -> 2, 2 -> 0
    expected = F.normalize(gn + gn[torch.tensor([2, 2, 0])], dim=1)
    assert torch.allclose(g, expected, atol=1e-6)


def test_chunking_and_top_k_beyond_the_gallery():
    g = torch.Generator().manual_seed(0)
    q, gal = torch.randn(9, 5, generator=g), torch.randn(4, 5, generator=g)
    a = query_expansion(q, gal, top_k=10, chunk_size=2, expand_gallery=True)
    b = query_expansion(q, gal, top_k=10, expand_gallery=True)
    assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a, b))


def test_query_expansion_can_fix_a_query_with_a_noisy_view():
    # the query sits between ids 0 and 1, nearer id 1's single item; id 0's items agree
    q = torch.tensor([[1.0, 0.9]])
    g = torch.tensor([[1.0, 0.0], [1.0, 0.05], [1.0, -0.05], [0.5, 1.0]])
    pids, camids = torch.tensor([0]), torch.tensor([0])
    g_pids, g_camids = torch.tensor([0, 0, 0, 1]), torch.ones(4, dtype=torch.long)
    plain = rank_metrics(q, g, pids, g_pids, camids, g_camids, distance="cosine")
    expanded = retrieval_metrics(q, g, pids, g_pids, camids, g_camids, distance="cosine",
                                 query_expansion={"top_k": 3, "alpha": 1.0})
    assert plain["rank1"] == 0.0 and expanded["rank1"] == 1.0


@pytest.mark.parametrize("kw, match", [
    ({"top_k": 0}, "top_k: expected a positive integer"),
    ({"alpha": -1.0}, "alpha: expected a finite exponent"),
    ({"alpha": float("nan")}, "alpha: expected a finite exponent"),
    ({"expand_gallery": "yes"}, "expand_gallery: expected True or False"),
])
def test_options_are_checked(kw, match):
    with pytest.raises(ValueError, match=match):
        query_expansion_options(**kw)
    with pytest.raises(ValueError, match=match):
        query_expansion(Q, G, **kw)


def test_bad_features_are_refused():
    with pytest.raises(ValueError, match="query features: expected a non-empty 2-D"):
        query_expansion(torch.zeros(2, 3, 4), G)
    with pytest.raises(ValueError, match="gallery features: row 1 is not finite"):
        query_expansion(Q, torch.tensor([[1.0, 0, 0], [float("nan"), 0, 0]]))
    with pytest.raises(ValueError, match="expected the same size D"):
        query_expansion(Q, G[:, :2])


def test_options_resolve_from_bools_and_dicts():
    assert resolve_rerank(None) is None and resolve_rerank(False) is None
    assert resolve_rerank(True) == {"k1": 20, "k2": 6, "lambda_value": 0.3}
    assert resolve_rerank({"k1": 5})["k1"] == 5
    assert resolve_query_expansion(True) == {"top_k": 5, "alpha": 3.0, "expand_gallery": False}
    with pytest.raises(ValueError, match="rerank: .*'k3'"):
        resolve_rerank({"k3": 1})
    with pytest.raises(TypeError, match="query_expansion: expected None, a bool or a dict"):
        resolve_query_expansion("yes")


def test_query_expansion_refuses_a_part_aware_distance():
    packed = pack_parts(torch.randn(6, 4, 3), torch.ones(6, 4))
    with pytest.raises(ValueError, match="part-aware distance 'cpdm'"):
        retrieval_metrics(packed[:2], packed[2:], [0, 1], [0, 1, 0, 1], distance="cpdm",
                          remove_same_camera=False, query_expansion=True)


def test_both_options_off_is_rank_metrics_exactly():
    g = torch.Generator().manual_seed(1)
    q, gal = torch.randn(7, 4, generator=g), torch.randn(30, 4, generator=g)
    qp, gp = torch.randint(0, 5, (7,), generator=g), torch.randint(0, 5, (30,), generator=g)
    args = (q, gal, qp, gp, torch.zeros(7), torch.ones(30))
    assert retrieval_metrics(*args, max_rank=5) == rank_metrics(*args, max_rank=5)
