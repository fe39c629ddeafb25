"""Twin error of G_I: an oracle scores 0, the training-free floors do not, SSIM is SSIM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tsgan.data import ir_twin
from tsgan.eval.twins import channel_copy, grayscale, ssim, twin_error, twin_floors
from tsgan.imaging import to_gan


@pytest.fixture(scope="module")
def rgb_paths(synthetic_sysu) -> list[Path]:
    return sorted(synthetic_sysu.glob("cam[1245]/*/*.jpg"))[:12]


def test_an_oracle_that_returns_the_twin_scores_zero_and_the_floors_do_not(rgb_paths):
    twins = (
        torch.from_numpy(np.stack([ir_twin(p)[..., 0] for p in rgb_paths])).float()[:, None] / 255
    )

    def oracle(x: torch.Tensor) -> torch.Tensor:
        assert x.min() < 0 <= x.max() <= 1  # fed in the GAN range
        return to_gan(twins[: len(x)])

    res = twin_error(oracle, rgb_paths, batch_size=len(rgb_paths))
    assert res["L1"] < 1e-6 and res["SSIM"] > 0.9999 and res["images"] == len(rgb_paths)
    floors = twin_floors(rgb_paths)
    assert floors["grayscale"]["L1"] > 0.02 and floors["grayscale"]["SSIM"] < 0.99
    assert floors["channel copy"]["L1"] > 0.02
    shifted = twin_error(
        lambda x: to_gan((twins[: len(x)] + 0.1).clamp(0, 1)), rgb_paths, batch_size=64
    )
    assert 0.05 < shifted["L1"] <= 0.1 + 1e-6


def test_twin_error_catches_swapped_arguments_and_wrong_shapes(rgb_paths):
    with pytest.raises(TypeError, match="swap"):
        twin_error(rgb_paths, grayscale)
    with pytest.raises(ValueError, match="height and width"):
        twin_error(lambda x: x[:, :1, ::2], rgb_paths)


def test_grayscale_and_channel_copy_are_what_they_say():
    x = torch.rand(5, 3, 4, 4) * 2 - 1
    assert torch.allclose(grayscale(x)[:, 0], 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])
    out = channel_copy(0)(x)
    assert all(any(torch.equal(out[i, 0], x[i, c]) for c in range(3)) for i in range(5))


def test_ssim_matches_a_plain_loop_over_windows():
    """Independent formulation: per valid window, the weighted means, variances and covariance."""
    g = torch.Generator().manual_seed(0)
    x, y = (
        torch.rand(1, 1, 14, 13, generator=g, dtype=torch.float64),
        torch.rand(1, 1, 14, 13, generator=g, dtype=torch.float64),
    )
    t = np.arange(11) - 5.0
    w1 = np.exp(-(t**2) / (2 * 1.5**2))
    w = np.outer(w1, w1) / w1.sum() ** 2
    a, b, vals = x[0, 0].numpy(), y[0, 0].numpy(), []
    for i in range(14 - 10):
        for j in range(13 - 10):
            pa, pb = a[i : i + 11, j : j + 11], b[i : i + 11, j : j + 11]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va, vb = (w * (pa - ma) ** 2).sum(), (w * (pb - mb) ** 2).sum()
            cov = (w * (pa - ma) * (pb - mb)).sum()
            vals.append(
                (2 * ma * mb + 1e-4)
                * (2 * cov + 9e-4)
                / ((ma**2 + mb**2 + 1e-4) * (va + vb + 9e-4))
            )
    assert float(ssim(x, y)[0]) == pytest.approx(np.mean(vals), abs=1e-9)
    assert float(ssim(x, x)[0]) == pytest.approx(1.0)
