"""Plot helpers: what they draw, checked on the matplotlib objects (no image comparison)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from tsgan.figures import (  # noqa: E402
    FAKE_IR_COLOUR,
    IR_COLOUR,
    RGB_COLOUR,
    as_chw,
    bar_chart,
    cmc_curves,
    distance_heatmap,
    grouped_bars,
    histograms,
    log_axis,
    modality_colour,
    seed_bars,
    seed_lines,
    show_images,
    view_split_bars,
)
from tsgan.methods.tsgan import TSGAN  # noqa: E402


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


def test_modality_colours_follow_the_label_prefix():
    assert modality_colour("IR->RGB") == IR_COLOUR
    assert modality_colour("fake IR -> RGB") == FAKE_IR_COLOUR  # the longest prefix wins
    assert modality_colour("rgb 4") == RGB_COLOUR
    assert modality_colour("random", "k") == "k"
    assert len({RGB_COLOUR, IR_COLOUR, FAKE_IR_COLOUR}) == 3
    ax = bar_chart({"RGB->RGB": 0.5, "IR->IR": 0.3})
    assert [tuple(b.get_facecolor()[:3]) for b in ax.patches] == [RGB_COLOUR, IR_COLOUR]


def test_chance_line_and_legend_inside_the_axes():
    ax = bar_chart({"IR->RGB": 0.4}, chance=0.02)
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "chance"]
    assert line.get_ydata()[0] == pytest.approx(0.02)
    ax.figure.canvas.draw()
    legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert axes.x0 <= legend.x0 and legend.x1 <= axes.x1  # inside, clear of any next panel


def test_log_axis_labels_ticks_with_plain_numbers():
    ax = plt.subplots()[1]
    ax.plot([1, 2, 3], [0.6, 1.5, 4.0])
    log_axis(ax)
    ax.figure.canvas.draw()
    assert ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert {"1", "2"} <= set(labels), labels  # less than a decade of data still gets labels


def test_cmc_curves_at_report_ranks_with_chance():
    ax = cmc_curves(
        {"model": np.array([0.2, 0.5, 0.7, 0.9])},
        chance=np.array([0.02, 0.1, 0.2, 0.4]),
        ranks=(1, 5, 10, 20),
    )
    model, chance = ax.get_lines()
    assert model.get_xdata().tolist() == [1, 5, 10, 20]
    assert chance.get_ydata().tolist() == pytest.approx([2, 10, 20, 40])
    assert chance.get_linestyle() == "--"
    with pytest.raises(ValueError, match="one value per rank"):
        cmc_curves({"model": np.array([0.2, 0.5])}, ranks=(1, 5, 10))


def test_grouped_bars_draw_chance_per_metric():
    ax = grouped_bars(
        {"a": {"R1": 30.0, "mAP": 20.0}, "b": {"R1": 40.0, "mAP": 25.0}},
        chance={"R1": 2.0, "mAP": 3.0},
    )
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    assert sorted(seg[0][1] for seg in segments) == [2.0, 2.0, 3.0, 3.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()].count("chance") == 1


def test_seed_bars_mean_and_interval_over_seeds():
    records = [
        {"row": r, "seed": s, "R1": v}
        for r, vals in (("a", (10, 20, 30)), ("b", (5, 5, 5)))
        for s, v in enumerate(vals)
    ]
    ax = seed_bars(records, x="row", y="R1", chance=1.0)
    assert [b.get_height() for b in ax.patches] == pytest.approx([20, 5])
    intervals = [ln for ln in ax.get_lines() if ln.get_label() != "chance"]
    spread = [np.nanmax(ln.get_ydata()) - np.nanmin(ln.get_ydata()) for ln in intervals]
    assert spread[0] > 0 and spread[1] == pytest.approx(0)  # seeds differ in a, agree in b
    # the Student-t interval of the results tables, not a bootstrap: 20 -+ t(0.975, 2) 10 / sqrt 3
    half = 4.302652729911275 * 10 / np.sqrt(3)
    ends = (np.nanmin(intervals[0].get_ydata()), np.nanmax(intervals[0].get_ydata()))
    assert ends == pytest.approx((20 - half, 20 + half))


def test_distance_heatmap_shows_the_matrix():
    dist = np.arange(6, dtype=float).reshape(2, 3)
    ax = distance_heatmap(dist)
    assert np.asarray(ax.collections[0].get_array()).reshape(2, 3).tolist() == dist.tolist()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("gallery", "query")


def test_show_images_titles_have_room_above_each_row():
    ax = show_images([np.zeros((40, 20), np.uint8)] * 4, nrow=2, titles=list("abcd"))
    image_top = ax.get_images()[0].get_array().shape[0]
    assert image_top == 2 * 40 + 3 * round(0.16 * 40)  # pad grows with titles


def test_view_split_bars_stack_each_cameras_fractions_with_the_legend_inside():
    splits = {
        "v3": {1: [0.2, 0.3, 0.5], 3: [0.4, 0.4, 0.2]},
        "v4": {1: [0.8, 0.05, 0.15], 3: [0.05, 0.8, 0.15]},
    }
    ax = view_split_bars(splits)
    want = np.array([s for w in splits.values() for s in w.values()])
    assert len(ax.containers) == 3
    for i, bars in enumerate(ax.containers):
        np.testing.assert_allclose([b.get_height() for b in bars], want[:, i])
        np.testing.assert_allclose([b.get_y() for b in bars], want[:, :i].sum(axis=1))
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["cam1\nRGB", "cam3\nIR", "cam1\nRGB", "cam3\nIR"]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["front", "back", "side"]
    ax.figure.canvas.draw()
    inside = ax.get_window_extent()
    box = legend.get_window_extent()
    assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0
    assert box.y1 <= inside.y1 and box.y0 >= ax.transData.transform((0, 1.0))[1]  # above bars
    assert ax.get_ylabel() and ax.get_xlabel()
    with pytest.raises(ValueError, match="fractions"):
        view_split_bars({"v3": {1: [0.5, 0.5]}})


# --- every figure function on small inputs ------------------------------------------------------


def _probe_runs():
    run = [{"epoch": e, "twin_L1": 0.4 - 0.05 * e, "gap_fmap": 1.0 - 0.1 * e} for e in (1, 2, 3)]
    return {"od": [run, run], "jd": [run]}


def _figure_cases():
    """(name, draw(ax) -> the axes drawn on, chance value or None): every plotting function of
    tsgan.figures that draws on axes, on small inputs whose data is within 3x of chance."""
    import tsgan.figures as f

    records = [{"row": r, "seed": s, "R1": v} for r in "ab" for s, v in enumerate((4.0, 5.0))]
    steps = [
        {"kind": "step", "step": i, "G_adv": 1.0, "B_tri": 0.3 - 0.1 * i, "D": 0.7}
        for i in range(4)
    ]
    pts = np.random.default_rng(0).normal(size=(8, 2))
    return [
        (
            "histograms",
            lambda ax: f.histograms({f"cam{c}": np.arange(1, 5) * c for c in range(1, 7)}, ax=ax),
            None,
        ),
        (
            "bar_chart",
            lambda ax: f.bar_chart({"IR->RGB": 0.05}, ax=ax, ylabel="R1", chance=0.02),
            0.02,
        ),
        (
            "grouped_bars",
            lambda ax: f.grouped_bars(
                {"a": {"R1": 5.0}, "b": {"R1": 4.0}}, ax=ax, ylabel="%", chance={"R1": 2.0}
            ),
            2.0,
        ),
        (
            "seed_bars",
            lambda ax: f.seed_bars(records, x="row", y="R1", ax=ax, chance=2.0, ylabel="R1 (%)"),
            2.0,
        ),
        (
            "seed_lines",
            lambda ax: f.seed_lines(records, x="row", y="R1", ax=ax, chance=2.0, ylabel="R1 (%)"),
            2.0,
        ),
        (
            "cmc_curves",
            lambda ax: f.cmc_curves(
                {"m": np.array([0.05, 0.2])}, chance=np.array([0.02, 0.1]), ranks=(1, 5), ax=ax
            ),
            2.0,
        ),
        (
            "distance_heatmap",
            lambda ax: f.distance_heatmap(np.arange(6.0).reshape(2, 3), ax=ax),
            None,
        ),
        (
            "twin_error_curves",
            lambda ax: f.twin_error_curves(_probe_runs(), {"grayscale": {"L1": 0.35}}, ax=ax),
            None,
        ),
        ("feature_gap_curves", lambda ax: f.feature_gap_curves(_probe_runs(), ax=ax), None),
        (
            "twin_error_against_steps",
            lambda ax: f.twin_error_against_steps(
                {
                    "resize": [
                        {"step": 50, "L1": 0.16, "SSIM": 0.27},
                        {"step": 100, "L1": 0.15, "SSIM": 0.3},
                    ]
                },
                {"grayscale": {"L1": 0.33, "SSIM": 0.08}},
                [{"level": 0, "SSIM": 1.0}, {"level": 1, "SSIM": 0.89}],
                ax=ax,
            ),
            None,
        ),
        (
            "view_split_bars",
            lambda ax: f.view_split_bars({"v3": {1: [0.2, 0.3, 0.5], 3: [0.4, 0.4, 0.2]}}, ax=ax),
            None,
        ),
        (
            "plot_losses",
            lambda ax: f.plot_losses(
                steps, axes=[ax] * 3, names=TSGAN.loss_names, lines={"D": (0.69, "log 2")}
            )[0],
            None,
        ),
        (
            "neighbourhood",
            lambda ax: f.neighbourhood(
                pts, [0, 0, 1, 1, 2, 2, 3, 3], 0, [1, 2], [1], [1, 3], ax=ax, modalities=[0, 1] * 4
            ),
            None,
        ),
    ]


@pytest.mark.parametrize("name, draw, chance", _figure_cases(), ids=[c[0] for c in _figure_cases()])
def test_every_figure_function_has_labels_a_legend_clear_of_other_panels_and_chance(
    name, draw, chance
):
    fig, (ax, other) = plt.subplots(1, 2, figsize=(9, 3.2))  # no layout engine to make room
    other.plot([0, 1], [0, 1])
    drawn = draw(ax)
    fig.canvas.draw()
    categories = [t.get_text() for t in drawn.get_xticklabels() if t.get_text()]
    named = any(c.replace(".", "").replace("−", "").isdigit() is False for c in categories)
    assert drawn.get_xlabel() or named, f"{name}: no x label and no category names"
    assert drawn.get_ylabel(), f"{name}: no y label"
    legend = drawn.get_legend()
    if legend is not None:
        box, inside = legend.get_window_extent(), drawn.get_window_extent()
        assert not box.overlaps(other.get_window_extent()), f"{name}: legend over the next panel"
        assert inside.x0 - 1 <= box.x0 and box.x1 <= inside.x1 + 1, f"{name}: legend outside"
        assert inside.y0 - 1 <= box.y0 and box.y1 <= inside.y1 + 1, f"{name}: legend outside"
    if chance is not None:
        lines = [ln for ln in drawn.get_lines() if ln.get_label() == "chance"]
        lines += [c for c in drawn.collections if c.get_label() == "chance"]
        assert lines, f"{name}: no chance line although the data is within 3x of chance"


def test_the_figure_table_covers_every_plotting_function():
    import inspect

    import tsgan.figures as f

    drawing = {
        n
        for n, fn in inspect.getmembers(f, inspect.isfunction)
        if fn.__module__ == f.__name__
        and not n.startswith("_")
        and "ax" in inspect.signature(fn).parameters
    }
    helpers = {"chance_line", "log_axis", "legend_inside", "legend_outside", "show_images"}
    helpers.add("plot_generated")  # show_images with titles, tested above
    helpers.add("fakes_beside_twins")  # an image grid (show_images), tested in test_gi_study
    assert drawing - helpers <= {c[0] for c in _figure_cases()}, drawing - helpers


def test_histograms_give_each_non_modality_label_its_own_colour():
    ax = histograms({f"cam{c}": np.ones(4) for c in range(1, 7)})
    colours = {tuple(p.get_edgecolor()[:3]) for p in ax.patches}
    assert len(colours) == 6


def test_plot_losses_keeps_a_curve_that_reaches_zero_and_draws_reference_lines():
    from tsgan.figures import plot_losses

    steps = [
        {"kind": "step", "step": i, "B_tri": max(0.0, 0.2 - 0.1 * i), "D": 0.7} for i in range(4)
    ]
    axes = plot_losses(steps, names=TSGAN.loss_names, lines={"D": (0.69, "log 2: a coin flip")})
    (b_ax,) = [a for a in axes if a.get_title().startswith("backbone")]
    (tri,) = [ln for ln in b_ax.get_lines() if ln.get_label() == "B_tri"]
    assert np.isfinite(tri.get_ydata()).all() and b_ax.get_yscale() == "symlog"
    (d_ax,) = [a for a in axes if a.get_title().startswith("discriminators")]
    assert [
        ln.get_ydata()[0] for ln in d_ax.get_lines() if ln.get_label() == "log 2: a coin flip"
    ] == [0.69]


# --- a row of one seed: no interval, and the plot says why --------------------------------------


def _summary_with_a_single_seed_row():
    """Two rows in the results summary's format: R1 10 and 14 over two seeds (95% CI 12 -+
    t(0.975, 1) 2 = 12 -+ 25.41), and one row of a single seed (no interval)."""
    half = 12.706204736174698 * 2.0
    return [
        {"name": "Backbone", "n": 2, "mean": {"R1": 12.0}, "ci95": {"R1": [12 - half, 12 + half]},
         "paper": None},
        {"name": "TS-GAN_JD", "n": 1, "mean": {"R1": 30.0}, "ci95": {"R1": None}, "paper": None},
    ]  # fmt: skip


def _error_bar_ends(ax):
    """{bar index: (low, high)} of every error bar segment drawn with a finite length or caps
    at a finite height, read from the drawn line collections and cap markers."""
    ends = {}
    for coll in ax.collections:
        for seg in (s for s in coll.get_segments() if len(s)):
            (x0, y0), (_, y1) = seg[0], seg[-1]
            if np.isfinite([x0, y0, y1]).all():
                ends[round(float(x0))] = (min(y0, y1), max(y0, y1))
    caps = [
        (float(x), float(y))
        for ln in ax.get_lines()
        if ln.get_label() != "chance" and ln.get_marker() not in ("None", None, "")
        for x, y in zip(ln.get_xdata(), ln.get_ydata())
        if np.isfinite([x, y]).all()
    ]
    return ends, caps


def test_plot_ablation_draws_no_error_bar_for_a_row_of_one_seed_and_says_so():
    from tsgan.experiments.ablate_report import plot_ablation

    summary = _summary_with_a_single_seed_row()
    fig = plot_ablation(summary, metrics=("R1",))
    r1 = fig.axes[0]
    ends, caps = _error_bar_ends(r1)
    assert set(ends) == {0}  # Backbone (2 seeds) has its interval, jd (1 seed) nothing
    assert ends[0] == pytest.approx(tuple(summary[0]["ci95"]["R1"]))
    assert {round(x) for x, _ in caps} == {0}  # no caps at the 1-seed row either
    labels = [t.get_text() for t in r1.get_xticklabels()]
    assert "1 seed" not in labels[0] and labels[1].endswith("(1 seed)")
    assert labels[1].startswith(summary[1]["name"])


def test_seed_bars_label_a_row_of_one_seed():
    records = [{"row": "a", "seed": s, "R1": v} for s, v in enumerate((10.0, 20.0))]
    records.append({"row": "b", "seed": 0, "R1": 7.0})
    ax = seed_bars(records, x="row", y="R1")
    fig = ax.figure
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b\n(1 seed)"]
    assert [b.get_height() for b in ax.patches] == pytest.approx([15.0, 7.0])
    with_hue = seed_bars([{**r, "hue": "h"} for r in records], x="row", y="R1", hue="hue")
    (note,) = with_hue.texts
    assert note.get_text() == "1 seed, no interval: b / h"


def test_a_probe_curve_identical_to_an_earlier_one_is_drawn_dashed_on_top_and_named():
    from tsgan.figures import twin_error_curves

    runs = _probe_runs()  # "od": two runs, "jd": one
    twin = [dict(p, twin_L1=p["twin_L1"] + 0.01) for p in runs["jd"][0]]
    ax = twin_error_curves({"single": runs["od"], "od": runs["od"], "other": [twin]})
    means = {ln.get_label(): ln for ln in ax.get_lines() if ln.get_lw() == 2}
    assert set(means) == {"single (2)", "od (2), identical to single", "other (1)"}
    assert means["od (2), identical to single"].get_linestyle() == "--"
    assert means["single (2)"].get_linestyle() == means["other (1)"].get_linestyle() == "-"
    # drawn after, so on top: the dashes show the solid curve under them
    assert ax.get_lines().index(means["od (2), identical to single"]) > ax.get_lines().index(
        means["single (2)"]
    )
    # one run repeating one of two runs is not the same rows
    ax = twin_error_curves({"single": runs["od"], "od": runs["od"][:1]})
    assert {ln.get_linestyle() for ln in ax.get_lines() if ln.get_lw() == 2} == {"-"}


def test_seed_lines_draw_each_seed_across_the_rows():
    records = [
        {"row": "b", "seed": 1, "R1": 6.0},
        {"row": "a", "seed": 0, "R1": 10.0},
        {"row": "b", "seed": 0, "R1": 12.0},
        {"row": "a", "seed": 1, "R1": 4.0},
        {"row": "c", "seed": 1, "R1": 7.0},
    ]
    ax = seed_lines(records, x="row", y="R1", chance=2.0)
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["b", "a", "c"]  # first appearance
    lines = {ln.get_label(): ln.get_ydata() for ln in ax.get_lines() if ln.get_label() != "chance"}
    assert set(lines) == {"seed 0", "seed 1"}
    np.testing.assert_array_equal(lines["seed 0"], [12.0, 10.0, np.nan])  # seed 0 has no c
    np.testing.assert_array_equal(lines["seed 1"], [6.0, 4.0, 7.0])
    with pytest.raises(ValueError, match="two records for row 'a' and seed 0"):
        seed_lines([*records, {"row": "a", "seed": 0, "R1": 1.0}], x="row", y="R1")
