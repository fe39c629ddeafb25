"""Plot helpers: what they draw, checked on the matplotlib objects (no image comparison)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from tsgan.figures import as_chw, bar_chart, histograms, show_images  # noqa: E402


def teardown_function():
    plt.close("all")


def test_as_chw_accepts_the_project_convention_and_uint8_arrays():
    ir = torch.rand(1, 8, 4)
    assert torch.equal(as_chw(ir), ir.expand(3, -1, -1))
    arr = np.zeros((8, 4, 3), np.uint8)
    arr[0, 0] = (255, 0, 51)
    t = as_chw(arr)
    assert t.shape == (3, 8, 4) and t[:, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.2])
    assert as_chw(np.full((8, 4), 255, np.uint8)).min() == 1.0
    with pytest.raises(ValueError, match="expected an image"):
        as_chw(torch.rand(2, 3, 8, 4))


def test_show_images_lays_out_a_grid_with_titles():
    h, w, pad, nrow = 8, 4, 2, 3
    images = [torch.full((3, h, w), i / 7) for i in range(7)]
    ax = show_images(images, nrow=nrow, titles=[f"#{i}" for i in range(7)], pad=pad)
    grid = ax.images[0].get_array()
    rows = 3  # ceil(7 / 3)
    assert grid.shape == (rows * (h + pad) + pad, nrow * (w + pad) + pad, 3)
    # image 4 sits in row 1, column 1 of the grid
    r0, c0 = pad + 1 * (h + pad), pad + 1 * (w + pad)
    assert np.allclose(grid[r0 : r0 + h, c0 : c0 + w], 4 / 7)
    assert [t.get_text() for t in ax.texts] == [f"#{i}" for i in range(7)]
    with pytest.raises(ValueError, match="titles"):
        show_images(images, nrow=3, titles=["one"])
    with pytest.raises(ValueError, match="one size"):
        show_images([torch.rand(3, 8, 4), torch.rand(3, 6, 4)], nrow=2)


def test_histograms_are_normalised_per_label():
    ax = histograms({"rgb": np.array([1, 3, 0, 4]), "ir": np.array([10, 0, 0, 10])})
    for patch, expected in zip(ax.patches, ([1, 3, 0, 4], [10, 0, 0, 10])):
        path = patch.get_path().vertices
        assert path[:, 1].max() == pytest.approx(max(expected) / sum(expected))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["rgb", "ir"]


def test_bar_chart_draws_the_values_and_the_reference():
    values = {"RGB->RGB": 0.5, "IR->IR": 0.3, "IR->RGB": 0.05}
    ax = bar_chart(values, reference={k: 0.02 for k in values}, reference_label="chance")
    assert [b.get_height() for b in ax.patches] == pytest.approx(list(values.values()))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(values)
    assert ax.collections[0].get_offsets()[:, 1].tolist() == pytest.approx([0.02] * 3)
