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


def _swap_only(p):
    return TrainAugment(p_flip=0.0, pad=0, erase_p=0.0, bg_swap=p)


def test_bg_swap_replaces_background_where_both_images_show_background():
    images = torch.stack([torch.full((3, 4, 4), 10 * (i + 1), dtype=torch.uint8) for i in range(3)])
    masks = torch.zeros(3, 1, 4, 4, dtype=torch.uint8)
    masks[:, :, :2, :2] = 1                      # every vehicle in the top-left corner
    masks[1, :, 3, 3] = 2                         # image 1 also shows a part at (3, 3)
    out = _swap_only(1.0)(images, masks, generator=seeded(0))[0]
    plain = normalize(images)
    for i in range(3):
        torch.testing.assert_close(out[i, :, :2, :2], plain[i, :, :2, :2])  # vehicle kept
        assert not torch.allclose(out[i, :, 2:, :2], plain[i, :, 2:, :2])   # background swapped
    donors = [j for j in range(3) if torch.allclose(out[j, :, 3, 0], plain[1, :, 3, 0])]
    assert donors and all(torch.allclose(out[j, :, 3, 3], plain[j, :, 3, 3]) for j in donors)


def test_bg_swap_off_or_at_zero_probability_changes_nothing():
    images, masks = batch()
    a = TrainAugment()(images, masks, generator=seeded(3))
    b = TrainAugment(bg_swap=0.0)(images, masks, generator=seeded(3))
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(_swap_only(1e-9)(images, masks, generator=seeded(1))[0],
                               normalize(images))


def test_bg_swap_needs_masks_and_a_probability():
    images, _ = batch()
    with pytest.raises(ValueError, match="needs masks"):
        _swap_only(0.5)(images, generator=seeded(0))
    with pytest.raises(ValueError, match="probability"):
        TrainAugment(bg_swap=1.5)
