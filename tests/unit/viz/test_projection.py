"""PCA and t-SNE projections to 2-D."""
import pytest
import torch

from vreid_lite.viz.projection import pca_2d, project_2d, tsne_2d

from .clustered_features import clustered


def test_pca_shape_deterministic_and_first_axis_has_most_variance():
    x, _ = clustered()
    a, b = pca_2d(x), pca_2d(x.clone())
    assert a.shape == (60, 2)
    assert torch.equal(a, b)
    assert a[:, 0].var() >= a[:, 1].var()
    # same result whatever the row order: projection is of the data, not of a random draw
    perm = torch.randperm(60, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(pca_2d(x[perm]), a[perm], atol=1e-4)


def test_tsne_deterministic_and_keeps_clusters():
    x, labels = clustered()
    y = tsne_2d(x, perplexity=10, iterations=200)
    assert y.shape == (60, 2)
    assert torch.equal(y, tsne_2d(x, perplexity=10, iterations=200))
    d = torch.cdist(y, y)
    d.fill_diagonal_(float("inf"))
    assert (labels[d.argmin(1)] == labels).float().mean() > 0.9


def test_project_2d_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown method"):
        project_2d(torch.zeros(4, 3), method="umap")
    with pytest.raises(ValueError, match="N×D"):
        project_2d(torch.zeros(5))
    with pytest.raises(ValueError, match="row 2"):
        pca_2d(torch.tensor([[0.0, 1.0], [1.0, 0.0], [float("nan"), 0.0]]))
    with pytest.raises(ValueError, match="perplexity"):
        tsne_2d(torch.randn(5, 3), perplexity=10)
