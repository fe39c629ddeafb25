"""Every plot of the project, for the notebooks, the demo and the reports: each takes numbers,
tensors or arrays (what to load is :mod:`tsgan.figure_inputs`'s job: dataset images, run folders,
ranked gallery images), so this module imports nothing of the package but the image conventions.

* images: :func:`show_images` (a grid), :func:`plot_generated` (paper Fig. 5: X_R, G_I(X_R), X_I),
  :func:`plot_translations` (a CycleGAN's images over training, notebook 03);
* training: :func:`plot_losses` (every logged loss term of a run's records);
* evaluation: :func:`framed_rows` (the layout of paper Fig. 4), :func:`cmc_curves`,
  :func:`neighbourhood` (k-reciprocal sets);
* numbers: :func:`histograms`, :func:`bar_chart`, :func:`grouped_bars`, :func:`seed_bars` (mean
  and 95% CI over seeds, seaborn), :func:`seed_lines` (each seed across the rows),
  :func:`distance_heatmap` (seaborn), :func:`view_split_bars` (the embedded data's front / back /
  side split per camera and world, notebook 01);
* style, owned here so every notebook looks alike: :func:`set_style` (seaborn theme),
  :data:`MODALITY_COLOURS` (RGB / IR / fake IR), :func:`chance_line` (the score of a random
  ranking, on every retrieval plot), :func:`log_axis` (log scale with plain-number tick labels),
  :func:`legend_inside` (legends inside their axes, never over the next panel).

Every helper draws on a matplotlib ``ax`` (a new figure when ``ax`` is None) and returns it, so a
notebook can compose figures and end the line with ``;``. Images follow the project convention:
float tensors in [0, 1], (3, H, W) or (N, 3, H, W); numpy uint8 (H, W, 3) arrays are accepted too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import FuncFormatter, LogLocator
from torchvision.utils import make_grid

from .imaging import to_image
from .loss_names import LossName, loss_panels

Image = torch.Tensor | np.ndarray

# One colour per modality in every figure (seaborn's colour-blind palette): RGB blue, IR red,
# generated IR (G_I(X_R), "fake IR") orange, generated RGB green.
RGB_COLOUR, IR_COLOUR, FAKE_IR_COLOUR, FAKE_RGB_COLOUR = (
    sns.color_palette("colorblind")[i] for i in (0, 3, 1, 2)
)
MODALITY_COLOURS = {
    "RGB": RGB_COLOUR,
    "IR": IR_COLOUR,
    "fake IR": FAKE_IR_COLOUR,
    "fake RGB": FAKE_RGB_COLOUR,
}
CHANCE_COLOUR = "0.35"


def set_style() -> None:
    """The project's figure style: seaborn's ``whitegrid`` theme, colour-blind palette, small
    fonts so that multi-panel figures stay readable. Every notebook calls it once."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette="colorblind",
        font_scale=0.85,
        rc={"figure.dpi": 90, "axes.titlesize": 10, "legend.fontsize": 8},
    )


def modality_colour(label: str, default: object = None) -> object:
    """The colour of a modality named at the start of ``label`` ("IR", "fake IR -> RGB", "rgb 3"):
    the longest :data:`MODALITY_COLOURS` key that ``label`` starts with (any case), else
    ``default``."""
    keys = [k for k in MODALITY_COLOURS if label.lower().startswith(k.lower())]
    return MODALITY_COLOURS[max(keys, key=len)] if keys else default


def chance_line(ax: Axes, value: float, label: str = "chance", axis: str = "y") -> Axes:
    """A dashed line at the score of a random ranking (e.g. R1 chance = matches / gallery size),
    so a reader sees how far a result is from guessing; ``axis="x"`` draws it vertically."""
    draw = ax.axhline if axis == "y" else ax.axvline
    draw(value, ls="--", lw=1.2, color=CHANCE_COLOUR, label=label, zorder=1)
    return ax


def _plain_number(value: float, _pos: int) -> str:
    return f"{value:g}"


def log_axis(ax: Axes, axis: str = "y") -> Axes:
    """A log scale whose ticks read as plain numbers (0.5, 1, 2, 5, 10 rather than 10^0 or no
    label at all when the data span less than a decade)."""
    getattr(ax, f"set_{axis}scale")("log")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(_plain_number))
    target.set_minor_formatter(FuncFormatter(lambda v, p: ""))
    return ax


def legend_inside(ax: Axes, **kwargs: object) -> Legend:
    """The legend inside the axes, where it covers the fewest points (``loc="best"``), half
    transparent: a legend outside the data runs into the next panel of a row of subplots."""
    return ax.legend(loc=kwargs.pop("loc", "best"), framealpha=0.85, **kwargs)


def legend_outside(ax: Axes, **kwargs: object) -> Legend:
    """The legend to the right of the axes, outside the data (``kwargs`` go to ``ax.legend``)."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def as_chw(img: Image) -> torch.Tensor:
    """One image as a float (3, H, W) tensor in [0, 1]: accepts [0, 1] tensors (1 or 3 channels,
    CHW) and uint8 or float numpy arrays (HW or HWC)."""
    if isinstance(img, np.ndarray):
        arr = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img.astype(np.float32)
        t = torch.from_numpy(arr[..., None] if arr.ndim == 2 else arr).permute(2, 0, 1)
    else:
        t = img.detach().float().cpu()
    if t.dim() != 3 or t.shape[0] not in (1, 3):
        raise ValueError(
            "expected an image (3, H, W) / (1, H, W) tensor or (H, W[, 3]) array, "
            f"got shape {tuple(t.shape)}"
        )
    return t.expand(3, -1, -1).clamp(0, 1)


def seeds_label(name: str, n: int) -> str:
    """A row's category label on a plot of means over seeds: ``name`` itself, with "(1 seed)"
    below it when the row has a single seed, where the plot draws no interval (a zero-length
    error bar would read as a row measured without spread)."""
    return f"{name}\n(1 seed)" if n == 1 else name


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    return plt.subplots(figsize=figsize)[1] if ax is None else ax


def show_images(
    images: Sequence[Image] | torch.Tensor,
    nrow: int,
    titles: Sequence[str] | None = None,
    ax: Axes | None = None,
    pad: int = 2,
) -> Axes:
    """A grid of images, ``nrow`` per row (torchvision's ``make_grid``), optional titles."""
    imgs = [as_chw(im) for im in images]
    if not imgs:
        raise ValueError("show_images got no images")
    if titles is not None:  # room above every image for its title, clear of the row above
        pad = max(pad, round(0.16 * imgs[0].shape[1]))
    if len({tuple(im.shape) for im in imgs}) > 1:
        raise ValueError(
            f"all images must have one size, got {sorted({tuple(im.shape) for im in imgs})}"
        )
    if titles is not None and len(titles) != len(imgs):
        raise ValueError(f"got {len(titles)} titles for {len(imgs)} images")
    grid = make_grid(torch.stack(imgs), nrow=nrow, padding=pad, pad_value=1.0)
    _, h, w = imgs[0].shape
    ncols = min(nrow, len(imgs))
    rows = (len(imgs) + nrow - 1) // nrow
    ax = _axes(ax, (1.6 * ncols * w / h + 0.3, 1.75 * rows + 0.3))
    ax.imshow(grid.permute(1, 2, 0).numpy())
    ax.axis("off")
    for i, title in enumerate(titles or []):
        r, c = divmod(i, nrow)
        ax.text(
            pad + c * (w + pad) + w / 2,
            r * (h + pad) + pad - 1,
            title,
            ha="center",
            va="bottom",
            fontsize=7,
        )
    return ax


def histograms(
    hists: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    xlabel: str = "intensity",
    title: str = "",
) -> Axes:
    """Overlayed normalised histograms (each a vector of bin counts over [0, 1]), one per label:
    a modality's colour where the label names one, else one colour of the palette per label; the
    legend inside the axes, so side-by-side panels do not cover each other."""
    ax = _axes(ax, (5, 3))
    for k, (label, h) in enumerate(hists.items()):
        h = np.asarray(h, dtype=float)
        edges = np.linspace(0, 1, len(h) + 1)
        colour = modality_colour(label, f"C{k}")
        fill = len(hists) <= 2  # more than two filled overlays hide each other: outlines
        ax.stairs(
            h / max(h.sum(), 1e-12),
            edges,
            label=label,
            fill=fill,
            alpha=0.45 if fill else 0.9,
            color=colour,
            lw=1.5,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of pixels")
    ax.set_title(title)
    ax.legend(loc="upper right", ncol=2 if len(hists) > 3 else 1)
    return ax


def bar_chart(
    values: Mapping[str, float],
    ax: Axes | None = None,
    ylabel: str = "",
    title: str = "",
    reference: Mapping[str, float] | None = None,
    reference_label: str = "",
    chance: float | None = None,
    xlabel: str = "",
) -> Axes:
    """Bars of ``values`` (coloured by modality when a key names one); optional ``reference``
    values for the same keys drawn as black ticks, optional ``chance`` level as a dashed line."""
    ax = _axes(ax, (5, 3))
    names = list(values)
    x = np.arange(len(names))
    colours = [modality_colour(n, RGB_COLOUR) for n in names]
    bars = ax.bar(x, [values[n] for n in names], color=colours, alpha=0.85)
    ax.bar_label(bars, fmt="%.3g", fontsize=8)
    if reference is not None:
        ax.scatter(
            x,
            [reference[n] for n in names],
            marker="_",
            s=600,
            color="black",
            label=reference_label,
            zorder=3,
        )
    if chance is not None:
        chance_line(ax, chance)
    if reference is not None or chance is not None:
        legend_inside(ax)
    ax.set_xticks(x, names)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return ax


def grouped_bars(
    values: Mapping[str, Mapping[str, float]],
    errors: Mapping[str, Mapping[str, float]] | None = None,
    ax: Axes | None = None,
    ylabel: str = "",
    title: str = "",
    chance: Mapping[str, float] | None = None,
) -> Axes:
    """Grouped bars: one group per outer key of ``values``, one bar per inner key (same inner keys
    every group); optional ``errors`` (same shape) as error bars, NaN/missing for none; optional
    ``chance`` level per inner key (a metric's score for a random ranking) as a dashed tick on
    each of that key's bars."""
    groups = list(values)
    if not groups:
        raise ValueError("grouped_bars got no groups")
    series = list(values[groups[0]])
    ragged = [g for g in groups if list(values[g]) != series]
    if ragged:
        raise ValueError(f"every group must have the bars {series}; groups {ragged} differ")
    ax = _axes(ax, (max(5.0, 0.9 * len(groups) * len(series) / 2 + 1), 3.2))
    x = np.arange(len(groups))
    width = 0.8 / len(series)
    for i, s in enumerate(series):
        err = None if errors is None else [errors.get(g, {}).get(s, np.nan) for g in groups]
        ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            [values[g][s] for g in groups],
            width,
            yerr=err,
            capsize=3,
            label=s,
            alpha=0.85,
        )
        if chance is not None and s in chance:
            centres = x + (i - (len(series) - 1) / 2) * width
            ax.hlines(
                [chance[s]] * len(groups),
                centres - width / 2,
                centres + width / 2,
                colors=CHANCE_COLOUR,
                linestyles="--",
                label="chance"
                if i == min(j for j, t in enumerate(series) if t in chance)
                else None,
                zorder=3,
            )
    ax.set_xticks(x, groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    legend_inside(ax)
    return ax


def seed_bars(
    records: Sequence[Mapping[str, object]],
    x: str,
    y: str,
    hue: str | None = None,
    ax: Axes | None = None,
    chance: float | None = None,
    ylabel: str = "",
    title: str = "",
) -> Axes:
    """Bars of the mean of ``y`` per ``x`` (and ``hue``) with the Student-t 95% confidence
    interval of the mean over the records (one per seed; the interval of the results tables,
    :func:`tsgan.stats.mean_ci`), seaborn's ``barplot``; a single seed draws no interval and
    says so: "(1 seed)" under its ``x`` category (:func:`seeds_label`), or, with ``hue``, a note
    inside the axes naming the bars of one seed. ``records``: long-form rows such as
    ``{"row": ..., "seed": 0, "R1": 31.2}``."""
    from .stats import mean_ci

    def t_interval(values: np.ndarray) -> tuple[float, float]:
        ci = mean_ci(values)["ci"]
        return (np.nan, np.nan) if ci is None else (ci[0], ci[1])

    if not records:
        raise ValueError("seed_bars got no records")
    ax = _axes(ax, (6, 3.2))
    sns.barplot(
        data={k: [r[k] for r in records] for k in records[0]},
        x=x,
        y=y,
        hue=hue,
        errorbar=t_interval,
        capsize=0.1,
        ax=ax,
    )
    if chance is not None:
        chance_line(ax, chance)
    counts: dict[tuple[str, str], int] = {}
    for r in records:
        key = (str(r[x]), "" if hue is None else str(r[hue]))
        counts[key] = counts.get(key, 0) + 1
    single = [k for k, n in counts.items() if n == 1]
    if hue is None:
        ticks = ax.get_xticks()
        names = [t.get_text() for t in ax.get_xticklabels()]
        ax.set_xticks(ticks, [seeds_label(c, counts[(c, "")]) for c in names])
    elif single:
        ax.text(
            0.02,
            0.97,
            "1 seed, no interval: " + ", ".join(f"{a} / {b}" for a, b in single),
            transform=ax.transAxes,
            va="top",
            fontsize=7,
        )
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or y)
    ax.set_title(title)
    if hue is not None or chance is not None:
        legend_inside(ax)
    return ax


def seed_lines(
    records: Sequence[Mapping[str, object]],
    x: str,
    y: str,
    seed: str = "seed",
    ax: Axes | None = None,
    chance: float | None = None,
    ylabel: str = "",
    title: str = "",
) -> Axes:
    """Each seed's ``y`` across the ``x`` categories (in the order they first appear in
    ``records``), one line per seed: what bars of means hide, whether one row beats another on
    every seed or on average only (the paired comparison of the results tables). A category a
    seed lacks leaves a gap in its line. ``records``: long-form rows such as
    ``{"row": ..., "seed": 0, "R1": 31.2}``, one per (category, seed)."""
    if not records:
        raise ValueError("seed_lines got no records")
    cats = list(dict.fromkeys(str(r[x]) for r in records))
    values: dict[object, dict[str, float]] = {}
    for r in records:
        line = values.setdefault(r[seed], {})
        if str(r[x]) in line:
            raise ValueError(f"two records for {x} {r[x]!r} and {seed} {r[seed]!r}")
        line[str(r[x])] = float(r[y])
    ax = _axes(ax, (max(6.0, 0.7 * len(cats)), 3.4))
    for i, s in enumerate(sorted(values)):
        ax.plot(
            np.arange(len(cats)),
            [values[s].get(c, np.nan) for c in cats],
            marker="o",
            ms=4,
            lw=1,
            color=f"C{i}",
            label=f"{seed} {s}",
        )
    if chance is not None:
        chance_line(ax, chance)
    ax.set_xticks(np.arange(len(cats)), cats)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or y)
    ax.set_title(title)
    legend_inside(ax, fontsize=7, ncol=2)
    return ax


def view_split_bars(
    splits: Mapping[str, Mapping[int, Sequence[float]]],
    views: Sequence[str] = ("front", "back", "side"),
    ir_cams: Sequence[int] = (3, 6),
    ax: Axes | None = None,
    title: str = "",
) -> Axes:
    """Stacked bars of the view split: for each world (outer key of ``splits``) and camera (inner
    key) the fractions of its pictures seen from each of ``views``; a camera of ``ir_cams`` is
    labelled IR, any other RGB. The legend sits inside, in the headroom above the bars."""
    worlds = list(splits)
    if not worlds:
        raise ValueError("view_split_bars got no worlds")
    ax = _axes(ax, (1.0 + 0.55 * sum(len(splits[w]) for w in worlds), 3.4))
    x, labels, fractions, centres, pos = [], [], [], [], 0.0
    for w in worlds:
        start = pos
        for cam, split in splits[w].items():
            if len(split) != len(views):
                raise ValueError(f"{w} cam {cam}: {len(split)} fractions for views {list(views)}")
            x.append(pos)
            labels.append(f"cam{cam}\n{'IR' if cam in ir_cams else 'RGB'}")
            fractions.append(split)
            pos += 1
        centres.append((start + pos - 1) / 2)
        pos += 0.6  # a gap between worlds
    fractions = np.asarray(fractions, dtype=float)
    bottom = np.zeros(len(x))
    palette = sns.color_palette("colorblind")
    for i, view in enumerate(views):
        colour = palette[(2, 4, 7, 8, 9)[i % 5]]
        ax.bar(x, fractions[:, i], 0.8, bottom=bottom, label=view, color=colour, alpha=0.9)
        bottom += fractions[:, i]
    ax.set_xticks(x, labels, fontsize=8)
    for w, c in zip(worlds, centres):
        ax.text(c, -0.24, w, transform=ax.get_xaxis_transform(), ha="center", va="top")
    ax.set_ylim(0, 1.3)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("fraction of the camera's pictures")
    ax.set_xlabel("camera, by world", labelpad=16)
    ax.set_title(title)
    ax.legend(loc="upper center", ncol=len(views), title="view", fontsize=8, title_fontsize=8)
    return ax


def distance_heatmap(
    distmat: np.ndarray | torch.Tensor,
    ax: Axes | None = None,
    xlabel: str = "gallery",
    ylabel: str = "query",
    title: str = "",
) -> Axes:
    """A query x gallery distance matrix as a seaborn heatmap (small distances dark)."""
    dist = np.asarray(torch.as_tensor(np.asarray(distmat)).float())
    if dist.ndim != 2:
        raise ValueError(f"distance_heatmap expects a 2-D matrix, got shape {dist.shape}")
    ax = _axes(ax, (5, 4))
    sns.heatmap(dist, ax=ax, cmap="rocket", cbar_kws={"label": "distance"}, square=False)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    return ax


def _probe_curves(
    runs: Mapping[str, Sequence[Sequence[Mapping[str, float]]]], key: str, ax: Axes
) -> Axes:
    """Per label: each run's ``key`` against the epoch (thin) and the mean over its runs (thick).

    A label whose runs repeat an earlier label's values exactly (every run, every epoch: e.g.
    TS-GAN_OD^singleTS's twin error on TS-GAN_OD's, whose G_I never sees the backbone) would
    vanish under it: it is drawn dashed on top, its legend entry naming the label it repeats."""
    drawn: dict[tuple, str] = {}  # every run's points -> the first label drawn with them
    for i, (label, curves) in enumerate(runs.items()):
        color = f"C{i}"
        points = [[(p["epoch"], p[key]) for p in c if key in p] for c in curves]
        points = [p for p in points if p]
        if not points:
            raise ValueError(
                f"{label!r} has no {key!r} in its probe records; was it trained with "
                "train.probe_images > 0 (and, for twin_*, a G_I on the embedded data)?"
            )
        same = drawn.setdefault(tuple(tuple(p) for p in points), label)
        ls, name = ("-", f"{label} ({len(points)})") if same == label else ("--", "")
        name = name or f"{label} ({len(points)}), identical to {same}"
        for p in points:
            ax.plot(*zip(*p), color=color, lw=0.8, alpha=0.4, ls=ls)
        epochs = sorted({e for p in points for e, _ in p})
        mean = [np.mean([v for p in points for e2, v in p if e2 == e]) for e in epochs]
        ax.plot(epochs, mean, color=color, lw=2, ls=ls, marker="o", ms=3, label=name)
    ax.set_xlabel("epoch")
    return ax


def twin_error_curves(
    runs: Mapping[str, Sequence[Sequence[Mapping[str, float]]]],
    floors: Mapping[str, Mapping[str, float]] | None = None,
    metric: str = "L1",
    ax: Axes | None = None,
) -> Axes:
    """G_I's twin error (``twin_L1`` or ``twin_SSIM`` of the per-epoch probes) over training: per
    label (e.g. an ablation row) its runs' probe records, thin per run, thick the mean; the
    training-free ``floors`` (:func:`tsgan.eval.twins.twin_floors`) as dashed lines."""
    ax = _axes(ax, (5, 3.2))
    _probe_curves(runs, f"twin_{metric}", ax)
    for i, (name, value) in enumerate((floors or {}).items()):
        ax.axhline(value[metric], color="black", ls=("--", ":")[i % 2], lw=1, label=f"{name} floor")
    ax.set_ylabel(f"twin {metric}" + (" (lower is better)" if metric == "L1" else ""))
    ax.set_title("G_I against the true IR twin")
    ax.legend(fontsize=8)
    return ax


def twin_error_against_steps(
    curves: Mapping[str, Sequence[Mapping[str, float]]],
    floors: Mapping[str, Mapping[str, float]] | None = None,
    levels: Sequence[Mapping[str, float]] = (),
    metric: str = "SSIM",
    ax: Axes | None = None,
) -> Axes:
    """G_I's twin ``metric`` (``L1`` or ``SSIM``) against training steps, one line per variant
    (``curves``: label -> [{"step", "L1", "SSIM"}, ...], e.g. ``benchmarks/bench_gi.py``'s
    variants); the training-free ``floors`` dashed, and the degraded twins' ``levels``
    (:func:`tsgan.eval.twins.degraded_twin_error`, level 0 left out) dotted and labelled inside
    the axes: the X_I' quality whose TS-loss gain the twins-degraded rows measure."""
    ax = _axes(ax, (6, 3.4))
    for i, (label, curve) in enumerate(curves.items()):
        if not curve:
            raise ValueError(f"variant {label!r} has no points")
        ax.plot(
            [p["step"] for p in curve],
            [p[metric] for p in curve],
            marker="o",
            ms=3,
            lw=1.6,
            color=f"C{i}",
            label=label,
        )
    for i, (name, value) in enumerate((floors or {}).items()):
        ax.axhline(
            value[metric], color="black", ls=("--", "-.")[i % 2], lw=1, label=f"{name} floor"
        )
    for level in levels:
        if level["level"] == 0:
            continue
        ax.axhline(level[metric], color=CHANCE_COLOUR, ls=":", lw=1)
        ax.annotate(
            f"twins level {level['level']}",
            (0.99, level[metric]),
            xycoords=("axes fraction", "data"),
            xytext=(0, 1),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=7,
            color=CHANCE_COLOUR,
        )
    ax.set_xlabel("CycleGAN steps")
    ax.set_ylabel(f"twin {metric}" + (" (lower is better)" if metric == "L1" else ""))
    ax.set_title("G_I on validation pictures against the true IR twin")
    legend_inside(ax, fontsize=8)
    return ax


def fakes_beside_twins(
    X_R: torch.Tensor,
    fakes: Mapping[str, torch.Tensor],
    twins: torch.Tensor,
    n: int = 6,
    ax: Axes | None = None,
) -> Axes:
    """Rows: real RGB pictures, each variant's fake IR of them (``fakes``: label -> images), and
    their true IR twins; ``n`` pictures per row, all (N, 1 or 3, H, W) in [0, 1]."""
    n = min(n, len(X_R))
    rows = [("X_R", X_R), *fakes.items(), ("true IR twin", twins)]
    images, titles = [], []
    for label, batch in rows:
        if len(batch) < n:
            raise ValueError(f"{label!r} has {len(batch)} images, expected at least {n}")
        images += [b.expand(3, -1, -1) for b in batch[:n]]
        titles += [label] + [""] * (n - 1)
    return show_images(images, nrow=n, titles=titles, ax=ax)


def feature_gap_curves(
    runs: Mapping[str, Sequence[Sequence[Mapping[str, float]]]],
    key: str = "gap_fmap",
    ax: Axes | None = None,
) -> Axes:
    """The student's RGB-IR modality gap (``gap_fmap``: on f_map, where the TS losses act;
    ``gap_feat``: on the test feature) over training, per label its runs (thin) and their mean."""
    ax = _axes(ax, (5, 3.2))
    _probe_curves(runs, key, ax)
    where = {"gap_fmap": "f_map (layer 3)", "gap_feat": "test feature"}.get(key, key)
    ax.set_ylabel(f"modality gap, {where}")
    ax.set_title("student's RGB-IR gap")
    ax.legend(fontsize=8)
    return ax


def plot_generated(X_R, X_I_fake, X_I, ax=None, n: int = 8):
    """Paper Fig. 5: real RGB images (top), their fake IR G_I(X_R) (middle), real IR images of the
    same people (bottom)."""
    n = min(n, len(X_R))
    images = list(X_R[:n]) + list(X_I_fake[:n]) + list(X_I[:n])
    titles = ["X_R"] * n + ["G_I(X_R)"] * n + ["X_I"] * n
    return show_images(images, nrow=n, titles=titles, ax=ax)


TRANSLATION_COLUMNS = (
    ("real_R", "real RGB"),
    ("fake_I", "fake IR"),
    ("real_I", "real IR"),
    ("fake_R", "fake RGB"),
)


def _image(x: torch.Tensor) -> np.ndarray:
    """One GAN-space image (C, H, W) as an (H, W, 3) array in [0, 1]."""
    return to_image(x.detach().float().cpu()[None])[0].permute(1, 2, 0).numpy()


def plot_translations(snapshots: list[tuple[int, dict[str, torch.Tensor]]], n: int = 4):
    """Rows: training steps; per row ``n`` samples of real RGB | fake IR | real IR | fake RGB.

    ``snapshots``: (step, GAN-space views) pairs, e.g. from ``CycleGAN.translate`` (notebook 03).
    """
    cols = len(TRANSLATION_COLUMNS) * n
    fig, axes = plt.subplots(
        len(snapshots), cols, figsize=(0.75 * cols, 1.6 * len(snapshots)), squeeze=False
    )
    for r, (step, views) in enumerate(snapshots):
        for k, (key, title) in enumerate(TRANSLATION_COLUMNS):
            for i in range(n):
                ax = axes[r, k * n + i]
                ax.imshow(_image(views[key][i]))
                ax.set_xticks([]), ax.set_yticks([])
                if r == 0 and i == 0:
                    ax.set_title(title, fontsize=9, loc="left")
        axes[r, 0].set_ylabel(f"step {step}", fontsize=9)
    fig.tight_layout(pad=0.2)
    return fig


# Keys of a step record that are not logged values of the step model
_NOT_LOSSES = ("kind", "step", "epoch", "seconds")


def loss_groups(
    keys: Sequence[str], names: Sequence[LossName] | None = None
) -> list[tuple[str, list[str]]]:
    """The panels of the loss figure, (title, [keys]). With a step model's declared ``names``
    (its ``loss_names``): one panel per declared ``panel``, holding the declared terms among
    ``keys``; without them, one panel "losses" with every logged value (learning rates left out).
    """
    if names is None:
        logged = [k for k in keys if not k.startswith("lr_") and k not in _NOT_LOSSES]
        return [("losses", logged)] if logged else []
    present = set(keys)
    groups = [(title, [k for k in ks if k in present]) for title, ks in loss_panels(names)]
    return [(title, ks) for title, ks in groups if ks]


def plot_losses(
    records: list[dict],
    axes=None,
    names: Sequence[LossName] | None = None,
    lines: Mapping[str, tuple[float, str]] | None = None,
) -> Sequence[Axes]:
    """One panel per optimizer with every loss term against the training step (log scale; a term
    that reaches 0, as a batch-hard triplet loss does, is drawn at the bottom of a linear band
    instead of breaking the curve).

    ``names``: the step model's ``loss_names`` (e.g. ``TSGAN.loss_names``): the panels and which
    terms are the totals an optimizer steps on (drawn thick); without them every logged value is
    drawn in one panel (:func:`loss_groups`). ``lines``: {panel title, or the name of the total
    drawn in it ("G", "B", "D"): (value, label)}, a dashed reference line in that panel (e.g.
    log 2, a coin flip's loss).
    """
    steps = [r for r in records if r.get("kind") == "step"]
    if not steps:
        raise ValueError(
            "no step records to plot: the run logged none "
            "(train for at least train.log_every steps)"
        )
    groups = loss_groups(list(steps[-1]), names)
    thick = {n.name for n in names or () if n.total}
    if axes is None:
        axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 3.2), squeeze=False)[1][0]
    x = [r["step"] for r in steps]
    for ax, (title, keys) in zip(axes, groups):
        zero = False
        for k in keys:
            y = [v if isinstance(v := r.get(k), (int, float)) else math.nan for r in steps]
            zero = zero or any(v <= 0 for v in y)
            ax.plot(x, y, label=k, lw=2.2 if k in thick else 1.0)
        for key in (title, *(k for k in keys if k in thick)):
            if lines and key in lines:
                value, label = lines[key]
                ax.axhline(value, ls="--", lw=1.2, color=CHANCE_COLOUR, label=label, zorder=1)
        if zero:  # log above 1e-3, linear below: 0 sits at the bottom, the curve stays whole
            ax.set_yscale("symlog", linthresh=1e-3)
            ax.set_ylim(bottom=0)
        else:
            log_axis(ax)
        ax.set(xlabel="training step", ylabel="loss (log scale)", title=title)
        legend_inside(ax, fontsize=7, ncol=2)
    return axes


GREEN, RED = (0.1, 0.7, 0.2), (0.85, 0.1, 0.1)


def _bordered(
    img: torch.Tensor, colour: tuple[float, float, float] | None, width: int
) -> np.ndarray:
    """(3, H, W) [0, 1] tensor -> (H + 2w, W + 2w, 3) array framed in ``colour`` (None: white)."""
    arr = img.permute(1, 2, 0).numpy()
    out = np.ones((arr.shape[0] + 2 * width, arr.shape[1] + 2 * width, 3), dtype=np.float32)
    out[:] = colour if colour is not None else (1.0, 1.0, 1.0)
    out[width:-width, width:-width] = arr
    return out


def framed_rows(
    rows: Sequence[Sequence[tuple[torch.Tensor, tuple[float, float, float] | None, str]]],
    border: int = 4,
) -> Figure:
    """A grid of images, one row per list of ((3, H, W) image in [0, 1], frame colour or None,
    title): the layout of paper Fig. 4 (:func:`tsgan.figure_inputs.ranked_lists`,
    ``tsgan search``)."""
    cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(
        len(rows), cols, figsize=(0.85 * cols, 1.75 * len(rows)), squeeze=False
    )
    for r, items in enumerate(rows):
        for c, ax in enumerate(axes[r]):
            ax.axis("off")
            if c < len(items):
                img, colour, title = items[c]
                ax.imshow(_bordered(img, colour, border))
                ax.set_title(title, fontsize=7)
    fig.tight_layout()
    return fig


def cmc_curves(
    curves: Mapping[str, np.ndarray],
    ax: Axes | None = None,
    title: str = "",
    chance: np.ndarray | None = None,
    ranks: Sequence[int] | None = None,
) -> Axes:
    """CMC curves in percent, one line per label, at ``ranks`` (default 1..len; e.g. (1, 5, 10,
    20) for the R1/R5/R10/R20 of a report); ``chance`` (the CMC of a random ranking at the same
    ranks) as a dashed line."""
    ax = plt.subplots(figsize=(5, 3.5))[1] if ax is None else ax
    n = len(next(iter(curves.values())))
    x = np.arange(1, n + 1) if ranks is None else np.asarray(ranks)
    if any(len(c) != len(x) for c in curves.values()) or (
        chance is not None and len(chance) != len(x)
    ):
        raise ValueError(f"every curve (and chance) needs one value per rank {x.tolist()}")
    for label, cmc in curves.items():
        ax.plot(x, 100 * np.asarray(cmc), marker="o", markersize=3, label=label)
    if ranks is not None:
        ax.set_xticks(x, [str(r) for r in x])
    if chance is not None:
        ax.plot(
            x,
            100 * np.asarray(chance),
            ls="--",
            color=CHANCE_COLOUR,
            label="chance",
        )
    ax.set_xlabel("rank")
    ax.set_ylabel("matching rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    legend_inside(ax)
    return ax


def neighbourhood(
    points: np.ndarray,
    labels: Sequence[int],
    centre: int,
    knn: Sequence[int],
    reciprocal: Sequence[int],
    expanded: Sequence[int],
    ax: Axes | None = None,
    modalities: Sequence[int] | None = None,
) -> Axes:
    """A 2-D picture of one point's k nearest neighbours, k-reciprocal set and expanded set. The
    fill colour is the identity (``labels``); with ``modalities`` (0 RGB, 1 IR) RGB points are
    circles and IR points triangles, and the legend says so."""
    ax = plt.subplots(figsize=(5, 4))[1] if ax is None else ax
    pts = np.asarray(points)
    labels = np.asarray(labels)
    kinds = np.zeros(len(pts), int) if modalities is None else np.asarray(modalities)
    for kind, marker, name in ((0, "o", "RGB"), (1, "^", "IR")):
        sel = kinds == kind
        if sel.any():
            ax.scatter(
                pts[sel, 0],
                pts[sel, 1],
                c=labels[sel],
                cmap="tab10",
                vmin=labels.min(),
                vmax=max(labels.max(), labels.min() + 1),
                s=25,
                alpha=0.45,
                marker=marker,
                label=f"{name} point (colour: identity)" if modalities is not None else None,
            )
    groups = (
        ("k nearest", knn, "o", 160, "0.5"),
        ("k-reciprocal", reciprocal, "s", 90, "k"),
        ("expanded", sorted(set(expanded) - set(reciprocal)), "D", 90, "tab:red"),
    )
    for label, idx, marker, size, colour in groups:
        idx = [i for i in idx if i != centre]
        ax.scatter(
            pts[idx, 0],
            pts[idx, 1],
            s=size,
            facecolors="none",
            edgecolors=colour,
            marker=marker,
            label=label,
        )
    ax.scatter(*pts[centre], marker="*", s=250, c="gold", edgecolors="k", label="probe", zorder=3)
    legend_inside(ax)
    ax.set(xlabel="feature dimension 1 (2-D projection)", ylabel="feature dimension 2")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
