"""A frozen V-Net remembers its outputs by input content, and sharing it changes no result."""
from __future__ import annotations

import torch

from vreid_lite.config import get_preset
from vreid_lite.data.records import VIEWS, ReIDDataset
from vreid_lite.models.mvan_vnet import VNet
from vreid_lite.models._output_memo import OutputMemo
from vreid_lite.pipelines.mvan import train_mvan

UNLABELLED = ReIDDataset([], [], [], meta={"protocol": "none"})


def images(seed, n=4):
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def frozen_vnet():
    torch.manual_seed(0)
    return VNet(3, "quick_net", pretrained=False).freeze()


def test_keys_follow_content_not_identity():
    memo = OutputMemo()
    with torch.no_grad():
        a, b = memo.key(images(0)), memo.key(images(0).clone())
        assert a == b and a != memo.key(images(1))
        assert memo.key(images(0), torch.float64) != a  # the owner's context counts
        assert memo.key(images(0).double()) != a
        assert memo.key(images(0).bfloat16()) not in (None, a)  # no numpy dtype needed
    assert memo.key(images(0)) is None  # autograd on: nothing is remembered


def test_the_oldest_entries_go_first_when_full():
    memo = OutputMemo(max_bytes=3 * 16)  # three 4-float tensors
    for i in range(4):
        memo.put(bytes([i]), torch.zeros(4))
    assert len(memo) == 3 and memo.get(bytes([0])) is None
    assert memo.get(bytes([3])) is not None
    memo.put(b"big", torch.zeros(100))  # larger than the whole memo: not kept
    assert memo.get(b"big") is None and len(memo) == 3


def test_a_frozen_vnet_computes_each_batch_once_with_the_same_result():
    vnet = frozen_vnet()
    fresh = VNet(3, "quick_net", pretrained=False).freeze()
    fresh.load_state_dict(vnet.state_dict())
    with torch.no_grad():
        first = vnet(images(0))
        again = vnet(images(0).clone())
        reference = fresh(images(0))
    assert vnet.memo.hits == 1 and vnet.memo.misses == 1
    for out in (again, reference):
        assert torch.equal(out.embedding, first.embedding)
        assert torch.equal(out.aux["view_probs"], first.aux["view_probs"])
    again.aux.clear()  # a caller's edits do not reach the memo
    with torch.no_grad():
        assert "view_probs" in vnet(images(0)).aux


def test_the_memo_is_emptied_when_weights_can_change():
    vnet = frozen_vnet()
    with torch.no_grad():
        vnet(images(0))
    assert len(vnet.memo) == 1
    vnet.load_state_dict(vnet.state_dict())
    assert len(vnet.memo) == 0
    with torch.no_grad():
        vnet(images(0))
    vnet.unfreeze()
    assert len(vnet.memo) == 0
    with torch.no_grad():
        vnet(images(0))
    assert len(vnet.memo) == 0  # a trainable V-Net remembers nothing


def test_variants_sharing_a_vnet_train_exactly_as_with_a_copy_of_its_weights():
    front, rear, side = (VIEWS.index(v) for v in ("front", "rear", "side"))
    loader = [{"images": images(s, 8), "pids": torch.arange(4).repeat_interleave(2),
               "views": torch.tensor([front, rear, side, front, rear, side, -1, front])}
              for s in range(2)]
    preset = get_preset("quick", epochs=1)
    options = {"vnet_backbone": "quick_net"}
    first = train_mvan("+GLAM", UNLABELLED, loader, 4, preset, device="cpu",
                       model_options=options, progress=False)
    vnet = first.model.vnet
    copied = train_mvan("+GAM", UNLABELLED, loader, 4, preset, device="cpu",
                        vnet_state=vnet.state_dict(), model_options=options, progress=False)
    hits = vnet.memo.hits
    shared = train_mvan("+GAM", UNLABELLED, loader, 4, preset, device="cpu", vnet=vnet,
                        model_options=options, progress=False)
    assert shared.model.vnet is vnet and vnet.memo.hits >= hits + len(loader)
    theirs = copied.model.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in shared.model.state_dict().items())
