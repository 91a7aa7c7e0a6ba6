import pytest
import torch

from fer_model.augment import (
    AugmentConfig,
    augment,
    center_crop,
    inference_views,
    random_affine_crop,
    ten_crop,
)


def test_identity_affine_is_center_crop() -> None:
    x = torch.randn(3, 1, 48, 48)
    cfg = AugmentConfig(rotate_deg=0, scale=0, shift=0, flip=False)
    out = random_affine_crop(x, 44, cfg, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, center_crop(x, 44), atol=1e-4, rtol=0)


def test_augment_is_deterministic_per_seed_and_erases() -> None:
    x = torch.randn(16, 1, 48, 48)
    a = augment(x, 44, AugmentConfig(erase_p=1.0), torch.Generator().manual_seed(3))
    b = augment(x, 44, AugmentConfig(erase_p=1.0), torch.Generator().manual_seed(3))
    assert a.shape == (16, 1, 44, 44)
    torch.testing.assert_close(a, b)
    assert ((a == 0).flatten(1).sum(1) > 0).all()


def test_ten_crop() -> None:
    x = torch.arange(48 * 48.0).view(1, 1, 48, 48)
    crops = ten_crop(x, 44)
    assert len(crops) == 10 and all(c.shape == (1, 1, 44, 44) for c in crops)
    torch.testing.assert_close(crops[5], crops[0].flip(-1))


def test_inference_views() -> None:
    x = torch.randn(2, 1, 48, 48)
    (single,) = inference_views(x, 44, "single")
    torch.testing.assert_close(single, center_crop(x, 44))
    centre, mirror = inference_views(x, 44, "mirror")
    torch.testing.assert_close(centre, single)
    torch.testing.assert_close(mirror, single.flip(-1))
    for got, want in zip(inference_views(x, 44, "ten-crop"), ten_crop(x, 44), strict=True):
        torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match="expected one of single, mirror, ten-crop"):
        inference_views(x, 44, "flip")
