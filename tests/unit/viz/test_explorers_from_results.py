"""Explorers built from a run's results: MaskExplorer.from_variants (each trained mask network's
masks on a sample) and CPDMExplorer.from_ranking (a query and its ranked matches)."""
import pytest
import torch

pytest.importorskip("ipywidgets")

from vreid_lite.data.dataset import ReIDImageDataset  # noqa: E402
from vreid_lite.data.formats import load_dataset  # noqa: E402
from vreid_lite.data.synthetic import render_dataset  # noqa: E402
from vreid_lite.models import build_model  # noqa: E402
from vreid_lite.pipelines.span import first_of_each_view, predict_masks  # noqa: E402
from vreid_lite.viz.cpdm_explorer import CPDMExplorer  # noqa: E402
from vreid_lite.viz.mask_explorer import MaskExplorer  # noqa: E402
from vreid_lite.viz.ranked_list import RankedListExplorer  # noqa: E402

TINY = {"name": "tiny_explorers", "seed": 8, "train_ids": 2, "test_ids": 4,
        "images_per_id": [4, 5], "cameras": 3, "cameras_per_id": [2, 3], "image_size": [32, 40],
        "scenes": 4}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = render_dataset(TINY, tmp_path_factory.mktemp("synth") / "tiny", workers=1,
                          progress=False)
    return load_dataset("veri776", str(root))


def mask_net():
    torch.manual_seed(0)
    return build_model("span", 4, backbone="quick_net", pretrained=False,
                       mask_backbone="quick_net").mask_net


def test_mask_explorer_from_variants_shows_each_states_masks(dataset):
    net = mask_net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    other = {k: v + 0.1 if v.is_floating_point() else v for k, v in before.items()}
    sample = first_of_each_view(dataset.query + dataset.gallery, per_view=1)
    explorer = MaskExplorer.from_variants(net, {"recon": before, "full": other}, sample,
                                          (32, 32), device="cpu")
    assert list(explorer.masks) == ["recon", "full"]
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
    images = ReIDImageDataset(sample, image_size=(32, 32), relabel=False, progress=False)
    net.load_state_dict(other)
    expected = predict_masks(net, images, device="cpu")["masks"].float()
    assert torch.equal(torch.as_tensor(explorer.masks["full"]), expected)
    assert explorer.truth is not None and len(explorer.captions) == len(sample)


def test_the_pair_explorer_holds_the_query_then_its_ranked_non_junk_matches(dataset):
    q_recs, g_recs = dataset.query, dataset.gallery
    g = torch.Generator().manual_seed(0)
    q = {"embedding": torch.randn(len(q_recs), 4, 3, generator=g),
         "visibility": torch.rand(len(q_recs), 4, generator=g)}
    gf = {"embedding": torch.randn(len(g_recs), 4, 3, generator=g),
          "visibility": torch.rand(len(g_recs), 4, generator=g)}
    ranked = RankedListExplorer.from_features(q_recs, g_recs, q["embedding"].flatten(1),
                                              gf["embedding"].flatten(1))
    order, statuses = ranked.ranking(0)
    top = [int(i) for i, s in zip(order, statuses) if s != "junk"][:3]
    explorer = CPDMExplorer.from_ranking(ranked, 0, q, gf, mask_net(), (32, 32), k=3,
                                         device="cpu")
    assert torch.equal(explorer.feats[0], q["embedding"][0])
    assert torch.equal(explorer.feats[1:], gf["embedding"][top])
    assert torch.equal(explorer.areas[1:], gf["visibility"][top])
    assert explorer.captions[0].startswith("query · id ")
    assert [c.split(" · ")[0] for c in explorer.captions[1:]] == ["#1", "#2", "#3"]
    assert explorer.images.shape[0] == 4 and explorer.masks.shape[0] == 4
