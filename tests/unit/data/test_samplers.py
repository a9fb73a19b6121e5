from collections import Counter

import pytest

from vreid_lite.data.samplers import PKSampler


def make_labels(counts):
    """Identity i gets counts[i] images; labels listed in a shuffled-looking order."""
    labels = [pid for pid, n in enumerate(counts) for _ in range(n)]
    return labels[::2] + labels[1::2]


def blocks(batch, k):
    return [batch[j:j + k] for j in range(0, len(batch), k)]


LABEL_SETS = [
    [6] * 8,                                  # balanced
    [1, 2, 3, 4, 5, 7, 9, 12, 17, 2, 3],      # uneven, some below K
    [2] * 10,                                 # every id below K, ids not a multiple of P
    [100, 4, 4, 4],                           # one identity dominates
]


@pytest.mark.parametrize("counts", LABEL_SETS)
def test_batches_hold_p_distinct_ids_with_k_images_each(counts):
    labels = make_labels(counts)
    p, k = (2, 4) if len(counts) == 4 else (4, 4)
    sampler = PKSampler(labels, p, k, seed=3)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler) > 0
        for batch in batches:
            assert len(batch) == p * k
            ids = [{labels[i] for i in block} for block in blocks(batch, k)]
            assert all(len(s) == 1 for s in ids), ids
            assert len({next(iter(s)) for s in ids}) == p


@pytest.mark.parametrize("counts", LABEL_SETS)
def test_every_identity_appears_every_epoch(counts):
    labels = make_labels(counts)
    sampler = PKSampler(labels, 4 if len(counts) > 4 else 2, 4, seed=1)
    for epoch in range(5):
        sampler.set_epoch(epoch)
        seen = {labels[i] for batch in sampler for i in batch}
        assert seen == set(labels)


def test_identities_with_fewer_than_k_images_are_sampled_with_replacement():
    labels = make_labels([2, 6, 6, 6])
    small = {i for i, pid in enumerate(labels) if pid == 0}
    sampler = PKSampler(labels, 2, 4)
    block = next(b for batch in sampler for b in blocks(batch, 4) if set(b) <= small)
    assert set(block) == small and len(block) == 4  # both images, then repeats


def test_larger_identities_are_chunked_without_replacement():
    labels = make_labels([8, 8, 8, 8, 5])
    sampler = PKSampler(labels, 2, 4, seed=7)
    per_id = {}
    for batch in sampler:
        for block in blocks(batch, 4):
            assert len(set(block)) == 4  # no repeat inside a chunk
            per_id.setdefault(labels[block[0]], []).extend(block)
    for pid, picked in per_id.items():
        assert set(picked) == {i for i, p in enumerate(labels) if p == pid}
    assert sorted(len(v) for v in per_id.values()) == [8, 8, 8, 8, 8]


def test_length_drops_the_last_incomplete_batch():
    sampler = PKSampler(make_labels([4] * 10), p=4, k=4)
    assert len(sampler) == 3  # 10 chunks: two full batches, plus one so all ids appear
    assert len(PKSampler(make_labels([8] * 9), p=4, k=4)) == 4  # 18 chunks // 4
    dominated = PKSampler(make_labels([100, 4, 4, 4]), p=2, k=4)
    assert len(dominated) == 3  # the big identity can fill at most one slot per batch


def test_set_epoch_is_deterministic_and_epochs_differ():
    labels = make_labels([5, 9, 3, 7, 8, 4, 6])
    a, b = PKSampler(labels, 3, 4, seed=11), PKSampler(labels, 3, 4, seed=11)
    a.set_epoch(4), b.set_epoch(4)
    assert list(a) == list(b) == list(a)
    b.set_epoch(5)
    assert list(a) != list(b)
    c = PKSampler(labels, 3, 4, seed=12)
    c.set_epoch(4)
    assert list(a) != list(c)


def test_shards_are_disjoint_and_equally_long():
    labels = make_labels([6] * 23)
    full = PKSampler(labels, 2, 3, seed=2)
    shards = [PKSampler(labels, 2, 3, seed=2, rank=r, world_size=3) for r in range(3)]
    for s in [full, *shards]:
        s.set_epoch(1)
    got = [list(s) for s in shards]
    assert len({len(g) for g in got}) == 1 and len(got[0]) == len(shards[0])
    flat = [tuple(b) for g in got for b in g]
    assert len(flat) == len(set(flat)) == 3 * len(got[0])
    assert Counter(flat) == Counter(tuple(b) for b in list(full)[:len(flat)])


def test_too_few_identities_raise_an_explaining_error():
    with pytest.raises(ValueError, match="at least P=4 identities.*only 3"):
        PKSampler(make_labels([5, 5, 5]), p=4, k=2)
    with pytest.raises(ValueError, match="world_size"):
        PKSampler(make_labels([4] * 4), p=2, k=4, rank=0, world_size=3)
