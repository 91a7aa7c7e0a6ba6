import pytest
import torch

from fer_model.covpool import CovPool, covariance, newton_schulz_sqrt, triu_vector


def _spd(b: int, c: int, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return covariance(torch.randn(b, c, n, dtype=dtype)) + 1e-3 * torch.eye(c, dtype=dtype)


def test_covariance_matches_torch_cov_float64_reference() -> None:
    torch.manual_seed(0)
    x = torch.randn(3, 6, 20)
    cov = covariance(x)
    for i in range(3):
        ref = torch.cov(x[i].double())
        torch.testing.assert_close(cov[i].double(), ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(cov, cov.transpose(1, 2))
    assert torch.linalg.eigvalsh(cov.double()).min() > -1e-5


def test_newton_schulz_sqrt_squares_back_to_input() -> None:
    torch.manual_seed(0)
    a = _spd(4, 8, 64)
    root = newton_schulz_sqrt(a, iters=20)
    torch.testing.assert_close(root @ root, a, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(root, root.transpose(1, 2))


def test_newton_schulz_few_iterations_float32_is_close_to_eigh_sqrt() -> None:
    torch.manual_seed(1)
    a = _spd(2, 16, 100)
    vals, vecs = torch.linalg.eigh(a)
    ref = vecs @ torch.diag_embed(vals.clamp_min(0).sqrt()) @ vecs.transpose(1, 2)
    approx = newton_schulz_sqrt(a.float(), iters=5).double()
    assert (approx - ref).norm() / ref.norm() < 0.05


def test_triu_vector_order() -> None:
    a = torch.arange(9.0).view(1, 3, 3)
    assert triu_vector(a).tolist() == [[0.0, 1.0, 2.0, 4.0, 5.0, 8.0]]


@pytest.mark.parametrize("hw", [2, 6])  # 4 positions < 5 channels: rank-deficient case
def test_covpool_module_shape_finite_and_gradients(hw: int) -> None:
    torch.manual_seed(0)
    pool = CovPool(5, iters=5)
    x = torch.randn(3, 5, hw, hw, requires_grad=True)
    out = pool(x)
    assert out.shape == (3, pool.out_features) == (3, 15)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()


def test_covpool_module_is_psd_sqrt_of_covariance() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    pool = CovPool(4, iters=15, eps=0.0)
    vec = pool(x)
    full = torch.zeros(2, 4, 4, dtype=torch.float32)
    rows, cols = torch.triu_indices(4, 4)
    full[:, rows, cols] = vec
    full = full + full.triu(1).transpose(1, 2)
    ref = torch.stack([torch.cov(x[i].flatten(1)) for i in range(2)]).float()
    torch.testing.assert_close(full @ full, ref, rtol=1e-3, atol=1e-4)
    assert torch.linalg.eigvalsh(full).min() > -1e-5
