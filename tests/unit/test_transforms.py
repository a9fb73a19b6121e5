import pytest
import torch

from vreid_lite.data.transforms import (IMAGENET_MEAN, IMAGENET_STD, EvalTransform, TrainAugment,
                                        normalize)


def batch(b=6, h=16, w=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (b, 3, h, w), dtype=torch.uint8, generator=g)
    masks = torch.randint(0, 4, (b, 1, h, w), dtype=torch.uint8, generator=g)
    return images, masks


def seeded(seed):
    return torch.Generator().manual_seed(seed)


def test_normalize_uses_imagenet_statistics():
    images, _ = batch()
    out = normalize(images)
    assert out.dtype == torch.float32 and out.shape == images.shape
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    torch.testing.assert_close(out, (images.float() / 255 - mean) / std)
    assert normalize(images[0]).shape == (3, 16, 12)
    with pytest.raises(TypeError, match="uint8"):
        normalize(images.float())


def test_no_augmentation_is_just_normalisation():
    images, masks = batch()
    out, out_masks = TrainAugment(p_flip=0, pad=0, erase_p=0)(images, masks)
    torch.testing.assert_close(out, normalize(images))
    assert torch.equal(out_masks, masks)


def test_flip_moves_image_and_mask_together():
    images, masks = batch()
    out, out_masks = TrainAugment(p_flip=1.0, pad=0, erase_p=0)(images, masks, seeded(0))
    torch.testing.assert_close(out, normalize(images.flip(-1)))
    assert torch.equal(out_masks, masks.flip(-1))


def test_pad_crop_shifts_image_and_mask_consistently():
    _, masks = batch(b=16, h=32, w=32)
    images = (masks * 60 + 20).expand(-1, 3, -1, -1).contiguous()  # image encodes its mask
    aug = TrainAugment(p_flip=0.5, pad=4, erase_p=0)
    out, out_masks = aug(images, masks, seeded(1))
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1) * 255
    restored = (out * std + mean).round().to(torch.uint8)
    padding = restored[:, :1] == 0
    assert torch.equal(restored[:, :1][~padding], (out_masks * 60 + 20)[~padding])
    assert (out_masks[padding] == 0).all()
    assert padding.any()  # some image was shifted
    assert not torch.equal(out_masks, masks)


def test_default_pad_is_a_sixteenth_of_the_side():
    assert TrainAugment().pad_pixels(256, 128) == (16, 8)
    assert TrainAugment(pad=10).pad_pixels(256, 128) == (10, 10)


def test_erasing_changes_pixels_but_not_masks():
    images = torch.full((8, 3, 32, 24), 255, dtype=torch.uint8)
    _, masks = batch(b=8, h=32, w=24)
    out, out_masks = TrainAugment(p_flip=0, pad=0, erase_p=1.0)(images, masks, seeded(2))
    erased = (out == 0).all(dim=1)  # the mean fill is 0 after normalisation
    area = erased.flatten(1).sum(1).float() / (32 * 24)
    assert (area > 0).all() and (area <= 0.45).all()
    for e in erased:  # each erased region is one rectangle
        rows, cols = e.any(1).nonzero(), e.any(0).nonzero()
        assert e.sum() == len(rows) * len(cols)
        assert rows.max() - rows.min() + 1 == len(rows)
    assert torch.equal(out_masks, masks)


def test_random_fill_and_no_erasing():
    images = torch.full((4, 3, 16, 16), 255, dtype=torch.uint8)
    noisy = TrainAugment(p_flip=0, pad=0, erase_p=1.0, erase_fill="random")(images,
                                                                          generator=seeded(0))
    assert (noisy < 0).any()  # 255 normalises to positive values only; noise went in
    kept = TrainAugment(p_flip=0, pad=0, erase_p=0.0)(images, generator=seeded(0))
    torch.testing.assert_close(kept, normalize(images))


def test_seeded_generator_makes_it_deterministic():
    images, masks = batch(b=8)
    aug = TrainAugment()
    a = aug(images, masks, seeded(5))
    b = aug(images, masks, seeded(5))
    c = aug(images, masks, seeded(6))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_eval_transform_only_normalises():
    images, masks = batch()
    torch.testing.assert_close(EvalTransform()(images), normalize(images))
    out, out_masks = EvalTransform()(images, masks)
    assert out_masks is masks


def test_bad_batches_are_rejected():
    images, masks = batch()
    with pytest.raises(ValueError, match="uint8"):
        TrainAugment()(images.float())
    with pytest.raises(ValueError, match="masks of shape"):
        TrainAugment()(images, masks[:, :, :8])
    with pytest.raises(ValueError, match="pad"):
        TrainAugment(pad=1.5)
