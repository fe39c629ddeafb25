"""Loss names declared once per step model (tsgan.loss_names): what each step model logs is its
declaration, the loss figure's panels and thick totals come from it, and an undeclared name is a
bug the step refuses."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from engine_helpers import tiny_step_config  # noqa: E402

from tsgan.data.noise import random_batch  # noqa: E402
from tsgan.figures import loss_groups, plot_losses  # noqa: E402
from tsgan.loss_names import LossName, loss_panels, loss_table  # noqa: E402
from tsgan.methods.cyclegan import CycleGAN  # noqa: E402
from tsgan.methods.teacher import IRBaseline, RGBBaseline  # noqa: E402
from tsgan.methods.tsgan import TSGAN  # noqa: E402
from tsgan.models import build_backbone  # noqa: E402

# Written out here, independently of the declarations: what one full TS-GAN step logs
TSGAN_STEP = {
    "G": {"G_adv_I", "G_adv_R", "G_cyc", "G"},
    "B": {"B_gan", "B_id", "B_tri", "B_ts_cd", "B_ts_real_ir", "B_ts_fake_ir", "B_ts", "B"},
    "D": {"D_I_real", "D_I_fake", "D_R_real", "D_R_fake", "D"},
}


def _tsgan(cfg):
    torch.manual_seed(0)
    teacher = build_backbone(cfg.model, 4)
    return TSGAN(cfg, 4, torch.device("cpu"), teacher).train()


def _declared(model_class):
    return {n.name for n in model_class.loss_names}


@pytest.mark.parametrize("model_class", [TSGAN, CycleGAN, IRBaseline, RGBBaseline])
def test_declarations_are_unique_and_described(model_class):
    names = [n.name for n in model_class.loss_names]
    assert names and len(names) == len(set(names))
    assert all(n.means for n in model_class.loss_names)
    # one total per drawn panel: the loss its optimizer steps on, or its panel's weighted sum
    panels = loss_panels(model_class.loss_names)
    totals = {n.panel for n in model_class.loss_names if n.total}
    assert totals == {title for title, _ in panels}


def test_a_tsgan_step_logs_its_declared_names_in_their_optimizer_panels():
    model = _tsgan(tiny_step_config())
    model.set_input(random_batch(2, 2, 32, 16))
    logged = model.optimize_parameters()
    assert set(logged) == set().union(*TSGAN_STEP.values())
    assert set(logged) <= _declared(TSGAN)
    panels = dict(loss_panels(TSGAN.loss_names))
    for prefix, names in TSGAN_STEP.items():  # each optimizer's terms in its panels, no others
        titles = [t for t in panels if f"O_{prefix}" in t]
        assert set().union(*(panels[t] for t in titles)) == names, titles
    totals = {n.name for n in TSGAN.loss_names if n.total}
    assert totals == {"G", "B", "B_ts", "D"}


def test_the_backbone_terms_are_split_into_l_reid_and_l_ts_panels():
    """O_B's eight terms crowded one panel: L_ReID's terms (Eq. 8-12) with the total L_Backbone,
    and the TS terms (Eq. 13-16) with their weighted sum L_TS, each a panel of four."""
    panels = loss_panels(TSGAN.loss_names)
    backbone = [(t, set(ks)) for t, ks in panels if "O_B" in t]
    assert [ks for _, ks in backbone] == [
        {"B_gan", "B_id", "B_tri", "B"},
        {"B_ts_cd", "B_ts_real_ir", "B_ts_fake_ir", "B_ts"},
    ]
    assert "L_ReID" in backbone[0][0] and "L_TS" in backbone[1][0]
    assert max(len(ks) for _, ks in panels) <= 5  # the discriminators' four terms and D
    records = [{"kind": "step", "step": s, **dict.fromkeys(TSGAN_STEP["B"], 1.0 / s)}
               for s in (1, 2)]  # fmt: skip
    fig, axes = plt.subplots(2, 2)
    drawn = plot_losses(records, axes.ravel(), TSGAN.loss_names)
    shown = [(ax.get_title(), {ln.get_label() for ln in ax.lines}) for ax in drawn[:2]]
    assert shown == backbone  # only the panels with logged terms, each titled
    assert all(ax.get_legend() is not None for ax in drawn[:2])
    plt.close(fig)


def test_the_other_step_models_log_their_declared_names():
    cfg = tiny_step_config(**{"model.discriminator": "ordinary"})
    gan = CycleGAN(cfg)
    gan.set_input(random_batch(2, 2, 32, 16))
    assert (
        set(gan.optimize_parameters()) == TSGAN_STEP["G"] | TSGAN_STEP["D"] == _declared(CycleGAN)
    )
    teacher = IRBaseline(cfg, 4, torch.device("cpu"))
    teacher.set_input(random_batch(2, 2, 32, 16))
    assert set(teacher.optimize_parameters()) == {"id", "tri", "reid"} == _declared(IRBaseline)


def test_an_undeclared_name_is_a_bug():
    model = _tsgan(tiny_step_config())
    model.set_input(random_batch(2, 2, 32, 16))
    model.optimize_parameters()
    model.losses["B_new_term"] = torch.tensor(1.0)
    with pytest.raises(RuntimeError, match=r"TSGAN logged \['B_new_term'\]"):
        model.end_step()


NAMES = (
    LossName("x", "first", "x"),
    LossName("x_sum", "first", "the total", total=True),
    LossName("y", "second", "y", total=True),
    LossName("flag", "", "a logged value that is not a loss"),
    LossName("absent", "third", "never logged"),
)


def _records():
    return [
        {"kind": "step", "step": s, "epoch": 1, "x": 1.0 / s, "x_sum": 2.0 / s, "y": 3.0,
         "flag": 0.0, "lr_B": 0.1}
        for s in (1, 2, 3)
    ]  # fmt: skip


def test_the_figure_reads_the_declared_names():
    keys = list(_records()[-1])
    assert loss_groups(keys, NAMES) == [("first", ["x", "x_sum"]), ("second", ["y"])]
    # without a declaration: every logged value in one panel, nothing thick
    assert loss_groups(keys) == [("losses", ["x", "x_sum", "y", "flag"])]
    fig, axes = plt.subplots(1, 2, squeeze=False)
    plot_losses(_records(), axes[0], NAMES)
    widths = {line.get_label(): line.get_linewidth() for ax in axes[0] for line in ax.lines}
    assert widths == {"x": 1.0, "x_sum": 2.2, "y": 2.2}
    assert [ax.get_title() for ax in axes[0]] == ["first", "second"]
    plt.close(fig)


def test_loss_table_lists_every_declared_name():
    lines = loss_table(NAMES).splitlines()
    assert [line.split()[0] for line in lines] == [n.name for n in NAMES]
    assert lines[3].split()[1] == "-" and lines[0].endswith("x")


def test_the_run_folder_loss_figure_lays_four_panels_out_two_by_two(tmp_path):
    from PIL import Image

    from tsgan.engine.rundir import RunDir
    from tsgan.figure_inputs import save_loss_figure

    def ratio(model_class, names):
        run = RunDir(tmp_path / model_class.__name__)
        run.path.mkdir()
        for s in (1, 2):
            run.log({"kind": "step", "step": s, **dict.fromkeys(names, 1.0 / s)})
        width, height = Image.open(save_loss_figure(run, model_class.loss_names)).size
        return width / height

    tsgan = ratio(TSGAN, set().union(*TSGAN_STEP.values()))
    assert tsgan == pytest.approx((2 * 4.5) / (2 * 3.2), rel=0.02)  # 4 panels, 2 x 2
    cyclegan = ratio(CycleGAN, TSGAN_STEP["G"] | TSGAN_STEP["D"])
    assert cyclegan == pytest.approx((2 * 4.5) / 3.2, rel=0.02)  # 2 panels in a row
