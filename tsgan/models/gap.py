"""How far apart RGB and IR look to a network, measured on feature maps (paper Sec. III-C's target).

The teacher-student losses pull the student's RGB feature maps toward IR ones. Two measures show it:

* :func:`modality_gap`: the difference of the per-channel statistics of RGB and IR feature maps, in
  units of their pooled spread (an RMS over channels of Cohen's d). 0 means the two modalities fill
  every channel alike; it is invariant to a per-channel rescaling, so shrinking the features does
  not fake a small gap.
* :func:`linear_cka`: linear centred kernel alignment (Kornblith et al. 2019) between paired
  representations, e.g. row i = identity i seen in RGB vs in IR. 1 means the two modalities arrange
  the identities identically (up to rotation and scale).
"""

from __future__ import annotations

import torch


def channel_stats(fmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (population) variance over batch and space of a (N, C, H, W) map."""
    if fmap.dim() != 4:
        raise ValueError(f"expected a (N, C, H, W) feature map, got shape {tuple(fmap.shape)}")
    flat = fmap.transpose(0, 1).flatten(1).double()
    return flat.mean(1), flat.var(1, unbiased=False)


def modality_gap(f_rgb: torch.Tensor, f_ir: torch.Tensor, eps: float = 1e-8) -> float:
    """sqrt(mean_c (mu_rgb,c - mu_ir,c)^2 / ((var_rgb,c + var_ir,c) / 2 + eps)) over channels c."""
    if f_rgb.shape[1:] != f_ir.shape[1:]:
        raise ValueError(
            f"RGB and IR feature maps must share (C, H, W), got {tuple(f_rgb.shape)} "
            f"and {tuple(f_ir.shape)}"
        )
    mu_r, var_r = channel_stats(f_rgb)
    mu_i, var_i = channel_stats(f_ir)
    return float(((mu_r - mu_i) ** 2 / ((var_r + var_i) / 2 + eps)).mean().sqrt())


def linear_cka(X: torch.Tensor, Y: torch.Tensor) -> float:
    """Linear CKA between paired rows of X (n, d1) and Y (n, d2), columns centred:
    ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), computed with the n x n Gram matrices
    (<K, L>_F / (||K||_F ||L||_F), K = X X^T) because feature maps are wide. Maps are flattened
    per sample."""
    X, Y = X.flatten(1).double(), Y.flatten(1).double()
    if X.shape[0] != Y.shape[0] or X.shape[0] < 2:
        raise ValueError(
            f"linear_cka needs the same number (>= 2) of paired samples, "
            f"got {X.shape[0]} and {Y.shape[0]}"
        )
    X, Y = X - X.mean(0), Y - Y.mean(0)
    K, L = X @ X.t(), Y @ Y.t()
    num = (K * L).sum()
    den = K.norm() * L.norm()
    return float(num / den) if den > 0 else 0.0
