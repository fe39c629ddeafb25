"""Size of every loss term of one Algorithm 1 step, at the cpu and the paper preset (CPU, seconds).

The TS losses (Eq. 13-15) are squared distances between feature maps, so their size depends on how
many values a map has: 256 x 4 x 2 = 2,048 per image in the ``cpu`` preset (ResNet-18, 64x32),
1024 x 18 x 9 = 165,888 in the ``paper`` preset (ResNet-50, 288x144). This script runs one step
of each preset (P=2 identities x K=1 pair, random init, seed 0) and prints every logged term, then
the three TS terms and the weighted L_TS (Eq. 16) under every ``loss.ts_reduction``, computed on
the feature maps that step's line 3 produced, beside lambda1 * L_ID + lambda2 * L_Tri.

Two teachers: ``init`` is the randomly initialised network as is (its batch norms hold the
running statistics of a fresh layer, mean 0 and variance 1, so in eval mode they do not normalise
and activations grow layer by layer); ``calibrated`` has its batch-norm statistics estimated on
four random IR batches first, as any trained teacher has. Only the second says what a pretrained
teacher's terms look like.

    PYTHONPATH=$PWD python benchmarks/bench_loss_scale.py    # both presets (9.8 min, 2 busy cores)
    PYTHONPATH=$PWD python benchmarks/bench_loss_scale.py --presets cpu
"""

from __future__ import annotations

import argparse
import time

import torch

from tsgan.config import get_config
from tsgan.data.noise import random_batch
from tsgan.losses import TS_REDUCTIONS, ts_losses
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone

NUM_CLASSES = {"cpu": 150, "paper": 395}  # embedded data (110 train + 40 val ids), SYSU-MM01


@torch.no_grad()
def calibrate_bn(net: torch.nn.Module, h: int, w: int, batches: int = 4) -> None:
    """Set each batch norm's running statistics to their average over ``batches`` IR batches."""
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    net.train()
    for i in range(batches):
        net(random_batch(4, 1, h, w, seed=100 + i)["ir"])
    net.eval()


def one_step(
    preset: str, teacher_kind: str
) -> tuple[dict[str, float], dict[str, dict[str, float]], str]:
    """Losses of one step, and the TS terms of that step's feature maps under every reduction."""
    cfg = get_config(
        preset,
        # Algorithm 1 as written (no GAN warm-up): line 3 sees X_I' at this first step
        {"data.P": 2, "data.K": 1, "model.pretrained": "", "optim.gan_warmup_epochs": 0},
    )
    h, w = cfg.data.height, cfg.data.width
    torch.manual_seed(0)
    teacher = build_backbone(cfg.model, NUM_CLASSES[preset])
    if teacher_kind == "calibrated":
        calibrate_bn(teacher, h, w)
    model = TSGAN(cfg, NUM_CLASSES[preset], torch.device("cpu"), teacher).train()
    maps: dict[str, list[torch.Tensor]] = {"S": [], "T": []}
    hooks = [
        model.backbone.FE.register_forward_hook(lambda m, i, o: maps["S"].append(o.detach())),
        model.teacher.register_forward_hook(lambda m, i, o: maps["T"].append(o.detach())),
    ]
    model.set_input(random_batch(cfg.data.P, cfg.data.K, h, w, seed=0))
    losses = model.optimize_parameters()
    for hk in hooks:
        hk.remove()
    fS_rgb, fS_real, fS_fake = maps["S"][-1].chunk(3)  # line 3: FE_S(cat(X_R, X_I, X_I'))
    fT_real, fT_fake = maps["T"]
    lc = cfg.loss
    by_reduction = {}
    for reduction in TS_REDUCTIONS:
        ts = ts_losses(
            fT_real, fS_real, fT_fake, fS_fake, fS_rgb, lc.alpha_c, lc.alpha_s, "all", reduction
        )
        by_reduction[reduction] = {k: float(v) for k, v in ts.items()}
    shape = "x".join(str(s) for s in fS_rgb.shape[1:])
    return losses, by_reduction, shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=["cpu", "paper"], choices=["cpu", "paper"])
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    for preset in args.presets:
        configured = get_config(preset).loss
        for teacher_kind in ("init", "calibrated"):
            t = time.perf_counter()
            losses, by_reduction, shape = one_step(preset, teacher_kind)
            reid = configured.lambda1 * losses["B_id"] + configured.lambda2 * losses["B_tri"]
            print(
                f"\n== preset {preset}, teacher {teacher_kind}: f_map {shape} per image, "
                f"loss.ts_reduction={configured.ts_reduction}, step {time.perf_counter() - t:.1f} s"
            )
            print("   " + "  ".join(f"{k} {v:.4g}" for k, v in losses.items()))
            print(f"   lambda1*B_id + lambda2*B_tri = {reid:.4g}")
            print(
                f"   {'reduction':<12}{'cd':>12}{'real_ir':>12}{'fake_ir':>12}{'L_TS (Eq.16)':>14}"
                f"{'L_TS / ReID':>13}"
            )
            for reduction, ts in by_reduction.items():
                terms = "".join(f"{ts[k]:>12.4g}" for k in ("cd", "real_ir", "fake_ir"))
                print(f"   {reduction:<12}{terms}{ts['total']:>14.4g}{ts['total'] / reid:>13.4g}")


if __name__ == "__main__":
    main()
