"""Degraded IR twins as X_I' (``train.twin_degrade``): a fixed, seeded recipe per picture, level 0
the true twins, SSIM falling level by level, the degraded twin of each RGB picture reaching line 3
as X_I', the "twins-degraded" row family, and run keys of every other run left where they were."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from engine_helpers import tiny_step_config
from PIL import Image
from scipy.ndimage import gaussian_filter

import tsgan.data.degrade as deg
from tsgan.config import get_config
from tsgan.data import ir_twin, read_sysu
from tsgan.data.dataset import build_train_loader, render_twins
from tsgan.data.degrade import LEVELS, Level, degrade, picture_seed
from tsgan.data.records import Sample
from tsgan.data.transforms import resize
from tsgan.eval.twins import degraded_twin_error, ssim
from tsgan.experiments.ablate import (
    DEGRADE_ROWS,
    DEGRADE_TS_SCALE,
    ROWS,
    check_switches,
    select_rows,
)
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone
from tsgan.training import run_key, validate

SIZE = (64, 32)


@pytest.fixture(scope="module")
def synth(synthetic_sysu):
    return read_sysu(synthetic_sysu)


@pytest.fixture(scope="module")
def pictures(synth):
    """Twelve RGB pictures of different identities."""
    seen, out = set(), []
    for s in synth.subset("train", "rgb"):
        if s.pid not in seen:
            seen.add(s.pid)
            out.append(s)
    return out[:12]


def test_level_0_is_the_true_twin_and_every_level_is_deterministic(pictures):
    true = [resize(torch.from_numpy(ir_twin(s)).permute(2, 0, 1), SIZE) for s in pictures]
    assert all(torch.equal(a, b) for a, b in zip(render_twins(pictures, SIZE, 0), true))
    assert all(torch.equal(a, b) for a, b in zip(render_twins(pictures, SIZE), true))
    for level in range(1, len(LEVELS)):
        once, again = render_twins(pictures, SIZE, level), render_twins(pictures, SIZE, level)
        assert all(torch.equal(a, b) for a, b in zip(once, again)), level
        assert not any(torch.equal(a, b) for a, b in zip(once, true)), level
        # three equal grey channels, like every IR picture
        assert all(torch.equal(t[0], t[1]) and torch.equal(t[0], t[2]) for t in once)
    # each picture has its own draws (not one noise field for all), keyed without the folder
    a, b = pictures[:2]
    assert picture_seed(a) != picture_seed(b)
    moved = Sample(f"/elsewhere/{a.pid}/x/{a.path.rsplit('/', 1)[-1]}", a.pid, a.cam, a.modality)
    assert picture_seed(moved) == picture_seed(a)


def test_ssim_falls_and_l1_rises_level_by_level(pictures):
    rows = degraded_twin_error(pictures, SIZE)
    assert [r["level"] for r in rows] == list(range(len(LEVELS)))
    assert rows[0]["L1"] == 0 and rows[0]["SSIM"] == pytest.approx(1.0)
    ssims, l1s = [r["SSIM"] for r in rows], [r["L1"] for r in rows]
    assert all(a > b for a, b in zip(ssims, ssims[1:])), ssims
    assert all(a < b for a, b in zip(l1s, l1s[1:])), l1s
    # the family spans a faithful X_I' down to a poor one
    assert ssims[1] > 0.8 and ssims[-1] < 0.45, ssims
    # the report's SSIM is eval.twins.ssim of the fed pictures against the true ones
    fed = torch.stack([t[:1] for t in render_twins(pictures, SIZE, 2)]).float() / 255
    true = torch.stack([t[:1] for t in render_twins(pictures, SIZE, 0)]).float() / 255
    assert rows[2]["SSIM"] == pytest.approx(float(ssim(fed, true).mean()), abs=1e-6)
    assert degraded_twin_error(pictures, SIZE, [3])[0]["SSIM"] == rows[3]["SSIM"]


@pytest.mark.parametrize(
    "level, reference",
    [
        (Level(blend=0.4), lambda x, u1, u2, z: x + 0.4 * (x.mean() - x)),
        (Level(jitter=0.3), lambda x, u1, u2, z: (1 + 0.3 * u1) * x + 0.3 * u2 / 2),
        (Level(sigma=1.0), lambda x, u1, u2, z: gaussian_filter(x, 1.0, mode="mirror")),
        (Level(noise=0.1), lambda x, u1, u2, z: x + 0.1 * z),
    ],
    ids=["blend", "jitter", "blur", "noise"],
)
def test_each_step_of_the_recipe_matches_its_formula(monkeypatch, level, reference):
    """Every step alone against an independent formulation (scipy's Gaussian filter for the blur;
    the draws u1, u2, z re-drawn from the seed in the documented order)."""
    monkeypatch.setattr(deg, "LEVELS", (Level(), level))
    g = torch.Generator().manual_seed(3)
    twin = torch.randint(40, 216, (1, 24, 12), dtype=torch.uint8, generator=g).expand(3, -1, -1)
    rng = np.random.default_rng(77)
    u1, u2 = rng.uniform(-1, 1, size=2)
    z = rng.standard_normal((24, 12))
    x = twin[0].numpy().astype(np.float64) / 255
    want = np.round(np.clip(reference(x, u1, u2, z), 0, 1) * 255).astype(np.uint8)
    got = degrade(twin.contiguous(), 1, 77)
    assert got.shape == (3, 24, 12) and got.dtype == torch.uint8
    assert np.abs(got[0].numpy().astype(int) - want.astype(int)).max() <= 1
    assert (got[0].numpy() != twin[0].numpy()).mean() > 0.3  # the step really acts


def _loader_cfg(synth, level):
    return get_config(
        "cpu",
        {
            "data.root": str(synth.root),
            "data.height": SIZE[0],
            "data.width": SIZE[1],
            "data.flip": 0.0,
            "data.pad": 0,
            "data.P": 3,
            "data.K": 2,
            "data.cache": False,
            "train.use_gan": False,
            "train.fakes": "twins",
            "train.twin_degrade": level,
        },
    )


def test_the_degraded_twin_of_each_rgb_picture_is_x_i_prime_in_line_3(synth):
    """Wiring: the loader pairs each RGB row with its own picture's degraded twin (not another
    picture's, not the true twin), and the step takes exactly that as X_I'."""
    cfg = _loader_cfg(synth, 3)
    batch = next(iter(build_train_loader(cfg, synth)))
    rgb_samples = synth.subset("train", "rgb")
    degraded = render_twins(rgb_samples, SIZE, 3)
    true = render_twins(rgb_samples, SIZE, 0)
    cache = [resize(Image.open(s.path).convert("RGB"), SIZE) for s in rgb_samples]
    rgb_u8 = (batch["rgb"] * 255).round().to(torch.uint8)
    got = (batch["ir_twin"] * 255).round().to(torch.uint8)
    for r, t in zip(rgb_u8, got, strict=True):
        i = next(k for k, c in enumerate(cache) if torch.equal(c, r))
        assert torch.equal(degraded[i], t)
        assert not torch.equal(true[i], t)
    step_cfg = tiny_step_config(
        **{"train.device": "cpu", "train.use_gan": False, "train.fakes": "twins"}
    )
    model = TSGAN(step_cfg, 64, torch.device("cpu"), build_backbone(step_cfg.model, 64))
    model.set_input(batch)
    assert model.X_I_fake is batch["ir_twin"]
    assert not torch.equal(model.X_I_fake, batch["ir"])


def test_the_degradation_needs_the_twins_and_a_known_level(synth, tmp_path):
    with pytest.raises(ValueError, match="train.twin_degrade=2 .* needs train.fakes=twins"):
        validate(get_config("cpu", ["train.twin_degrade=2"]), "tsgan")
    cfg = _loader_cfg(synth, 5)
    cfg.train.out_dir = str(tmp_path)
    with pytest.raises(ValueError, match=r"integer level in \[0, 4\]"):
        validate(cfg, "tsgan")


# run keys of rows measured before train.twin_degrade existed (seed 0, seed 3); TS-GAN_JD's are
# those of the row that set loss.fakes_in_reid=never then, jd-xi-joined's those of TS-GAN_JD then
PINNED = {
    "backbone": ("70ea9280a3", "96bcd3fbc6"),
    "jd": ("ff67ff777f", "81ed169196"),
    "jd-xi-joined": ("883809d2d6", "8c23c394b4"),
    "twins-no-ts": ("887c41a68f", "653a264cf4"),
}


def test_existing_run_keys_do_not_move_and_the_family_keys_its_level():
    base = get_config("cpu")
    rows = {r.key: r for r in select_rows(list(PINNED))}
    for key, (k0, k3) in PINNED.items():
        assert run_key(rows[key].config(base, 0), "tsgan") == k0, key
        assert run_key(rows[key].config(base, 3), "tsgan") == k3, key
    keys = {run_key(r.config(base, 0), "tsgan") for r in DEGRADE_ROWS}
    assert len(keys) == len(DEGRADE_ROWS) and not keys & {k for k, _ in PINNED.values()}
    # level 0 is the oracle row "twins" itself: one run
    (twins,) = select_rows(["twins"])
    assert run_key(DEGRADE_ROWS[0].config(base, 3), "tsgan") == run_key(
        twins.config(base, 3), "tsgan"
    )
    # the teacher is the one every row shares
    assert run_key(DEGRADE_ROWS[2].config(base, 0), "teacher") == run_key(base, "teacher")


def test_the_family_rows_feed_degraded_twins_with_strong_ts_losses():
    base = get_config("cpu", ["loss.alpha_c=0.01"])
    assert [r.key for r in select_rows(["twins-degraded"])] == [
        f"twins-deg{k}" for k in range(len(LEVELS))
    ]
    assert not {r.key for r in DEGRADE_ROWS} & {r.key for r in ROWS}  # keys of their own
    assert select_rows(["jd", "twins-degraded", "twins-deg1"])[:2] == [
        select_rows(["jd"])[0],
        DEGRADE_ROWS[0],
    ]
    for level, row in enumerate(DEGRADE_ROWS):
        cfg = row.config(base, 1)
        assert (cfg.train.fakes, cfg.train.use_gan, cfg.train.use_teacher) == ("twins", False, True)
        assert cfg.train.twin_degrade == level
        assert cfg.loss.alpha_c == pytest.approx(0.01 * DEGRADE_TS_SCALE)
        assert cfg.loss.alpha_s == pytest.approx(base.loss.alpha_s * DEGRADE_TS_SCALE)
        assert cfg.loss.alpha_c / cfg.loss.alpha_s != pytest.approx(1.0)
    # the table's rows with G_I's fakes keep the base weights; its oracle row takes the family's
    assert select_rows(["jd"])[0].config(base, 0).loss.alpha_c == 0.01
    assert select_rows(["twins"])[0].config(base, 0).loss.alpha_c == pytest.approx(1.0)
    with pytest.raises(ValueError, match="train.twin_degrade=1 cannot be set for the ablation"):
        check_switches(get_config("cpu", ["train.twin_degrade=1"]))
