"""Covariance pooling: second-order statistics of a conv feature map (pure torch).

Pipeline (Acharya et al. 2018, "Covariance Pooling for Facial Expression Recognition"):
covariance of the C channels over the H*W positions -> matrix square root by coupled
Newton-Schulz iterations (pre-normalised by the trace, post-compensated by its square root)
-> upper-triangular vectorisation. Everything is batched bmm so it costs a few large ops.
"""

from __future__ import annotations

import torch
from torch import nn


def covariance(x: torch.Tensor) -> torch.Tensor:
    """(B, C, N) samples-in-columns -> (B, C, C) unbiased covariance, as torch.cov per item."""
    n = x.shape[-1]
    xc = x - x.mean(dim=-1, keepdim=True)
    return torch.bmm(xc, xc.transpose(1, 2)) / max(n - 1, 1)


def newton_schulz_sqrt(a: torch.Tensor, iters: int = 5) -> torch.Tensor:
    """Matrix square root of a batch of SPD matrices (B, C, C).

    Dividing by the trace puts the spectrum in (0, 1], where the iteration converges;
    multiplying by sqrt(trace) afterwards undoes the scaling.
    """
    b, c, _ = a.shape
    trace = a.diagonal(dim1=1, dim2=2).sum(-1).clamp_min(1e-12).view(b, 1, 1)
    eye = torch.eye(c, dtype=a.dtype, device=a.device).expand(b, c, c)
    y = a / trace
    z = eye
    for _ in range(iters):
        t = torch.baddbmm(eye, z, y, beta=1.5, alpha=-0.5)  # (3I - ZY) / 2
        y, z = torch.bmm(y, t), torch.bmm(t, z)
    return y * trace.sqrt()


def triu_vector(a: torch.Tensor) -> torch.Tensor:
    """(B, C, C) symmetric -> (B, C*(C+1)/2) upper triangle, row-major."""
    c = a.shape[-1]
    rows, cols = torch.triu_indices(c, c, device=a.device)
    return a[:, rows, cols]


class CovPool(nn.Module):
    """Feature map (B, C, H, W) -> normalised covariance vector (B, C*(C+1)/2)."""

    def __init__(self, channels: int, iters: int = 5, eps: float = 1e-4) -> None:
        super().__init__()
        self.channels, self.iters, self.eps = channels, iters, eps
        self.register_buffer("rows_cols", torch.triu_indices(channels, channels), persistent=False)

    @property
    def out_features(self) -> int:
        return self.channels * (self.channels + 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Float32 even under autocast: Newton-Schulz is sensitive to precision.
        cov = covariance(x.flatten(2).float())
        # A small ridge keeps the matrix SPD when H*W <= C (rank-deficient covariance).
        scale = cov.diagonal(dim1=1, dim2=2).mean(-1).view(-1, 1, 1) * self.eps + 1e-6
        cov = cov + scale * torch.eye(self.channels, dtype=cov.dtype, device=cov.device)
        root = newton_schulz_sqrt(cov, self.iters)
        return root[:, self.rows_cols[0], self.rows_cols[1]]
