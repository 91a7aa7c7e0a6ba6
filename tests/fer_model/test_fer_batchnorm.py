"""BatchNorm statistics re-estimated on clean faces (fer_model.batchnorm)."""

import numpy as np
import torch
from torch import nn

from fer_model.augment import center_crop, to_input
from fer_model.batchnorm import recalibrate_batchnorm

NORM = {"mean": 0.5, "std": 0.25, "image_size": 48, "input_size": 44}


def _faces(n: int = 40) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 48, 48), dtype=np.uint8)


def test_statistics_are_those_of_clean_centre_crops() -> None:
    # Dropout before BN: it must stay off, or the variance would be inflated.
    model = nn.Sequential(nn.Dropout(0.5), nn.BatchNorm2d(1))
    model[1].running_mean.fill_(100.0)  # stale
    faces = _faces()
    recalibrate_batchnorm(model, faces, NORM, batch_size=len(faces))
    clean = center_crop(to_input(faces, NORM["mean"], NORM["std"]), 44)  # flips keep the moments
    torch.testing.assert_close(model[1].running_mean, clean.mean().view(1))
    torch.testing.assert_close(model[1].running_var, clean.var().view(1))


def test_mode_and_momentum_are_restored_and_limit_is_honoured() -> None:
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4, momentum=0.3))
    model.train()
    recalibrate_batchnorm(model, _faces(), NORM, limit=16, batch_size=8)
    bn = model[1]
    assert model.training and bn.training and bn.momentum == 0.3
    assert int(bn.num_batches_tracked) == 2  # 16 faces in batches of 8
    model.eval()
    recalibrate_batchnorm(model, _faces(), NORM, limit=16, batch_size=8)
    assert not model.training and not bn.training


def test_same_seed_same_statistics_and_nothing_to_do_is_fine() -> None:
    def stats(seed: int) -> torch.Tensor:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
        recalibrate_batchnorm(model, _faces(), NORM, limit=8, seed=seed)
        return model[1].running_mean

    torch.testing.assert_close(stats(1), stats(1))
    assert not torch.allclose(stats(1), stats(2))  # a different subset of faces
    recalibrate_batchnorm(nn.Sequential(nn.Conv2d(1, 4, 3)), _faces(), NORM)  # no BN layers
    recalibrate_batchnorm(nn.Sequential(nn.BatchNorm2d(1)), _faces(0), NORM)  # no faces
