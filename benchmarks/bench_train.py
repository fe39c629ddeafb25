"""Test-time and training cost of TS-GAN.

1. Test time: the deployed model is the student backbone alone (paper Sec. III-D: "only the second
   phase is needed"). Its images/s (``backbone.features``) must equal those of a plain torchvision
   ResNet of the same architecture, input size and last stride, within 5%.
2. Training: steps/s and image pairs/s of the backbone-only step (Table II "Backbone") against the
   full Algorithm 1 step (G, backbone, D updates plus the frozen teacher).
3. Time to accuracy (``--time-to R1``): the preset's teacher and TS-GAN trained for real (cached
   in ``runs/bench/cache/``, so a second call only reads the logs) with the test protocol scored
   at every epoch end (``train.probe_eval``); prints the minutes of training (probes excluded)
   until R1 first reaches the target, and the teacher's minutes before it.

    python benchmarks/bench_train.py                       # paper preset (ResNet-50, 288x144), CPU
    python benchmarks/bench_train.py --device cuda --batch 64 --amp bf16 --channels-last
    python benchmarks/bench_train.py --preset cpu          # the small CPU model
    python benchmarks/bench_train.py --preset cpu --time-to 20   # + minutes of training to R1 20%
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

from tsgan.config import PRESETS, Config, get_config, replace
from tsgan.engine.device import autocast, resolve_device
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone
from tsgan.models.backbone import narrow_resnet
from tsgan.paths import runs_dir
from tsgan.probes import time_to_accuracy
from tsgan.training import cached_run, get_or_train_tsgan, needs_teacher


def plain_resnet(arch: str, last_stride: int, width: int = 64) -> torch.nn.Module:
    """torchvision's ResNet with the classifier removed and the same last stride and base width as
    the student (``narrow_resnet`` is torchvision's ResNet class with narrower stages)."""
    net = (
        getattr(torchvision.models, arch)(weights=None)
        if width == 64
        else narrow_resnet(arch, width)
    )
    block = net.layer4[0]
    (block.conv2 if hasattr(block, "conv3") else block.conv1).stride = (last_stride, last_stride)
    block.downsample[0].stride = (last_stride, last_stride)
    net.fc = torch.nn.Identity()
    return net


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def images_per_second(fns: dict, x: torch.Tensor, reps: int, amp: str) -> dict[str, float]:
    """Median throughput of each function, measured interleaved (A, B, A, B, ...) so load drifts
    hit both."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    with torch.inference_mode(), autocast(x.device, amp):
        for fn in fns.values():
            fn(x)  # warm-up
        for _ in range(reps):
            for name, fn in fns.items():
                sync(x.device)
                t = time.perf_counter()
                fn(x)
                sync(x.device)
                times[name].append(time.perf_counter() - t)
    return {k: len(x) / statistics.median(v) for k, v in times.items()}


def train_steps_per_second(cfg, device: torch.device, steps: int) -> float:
    torch.manual_seed(0)
    teacher = build_backbone(cfg.model, 8) if needs_teacher(cfg) else None
    model = TSGAN(cfg, 8, device, teacher).train()
    P, K, h, w = cfg.data.P, cfg.data.K, cfg.data.height, cfg.data.width
    batch = {
        "rgb": torch.rand(P * K, 3, h, w, device=device),
        "ir": torch.rand(P * K, 1, h, w, device=device).expand(-1, 3, -1, -1),
        "label": torch.arange(P, device=device).repeat_interleave(K),
    }
    if cfg.train.channels_last:
        batch = {
            k: v.contiguous(memory_format=torch.channels_last) if v.dim() == 4 else v
            for k, v in batch.items()
        }
    model.set_input(batch)
    model.optimize_parameters()  # warm-up
    sync(device)
    t = time.perf_counter()
    for _ in range(steps):
        model.set_input(batch)
        model.optimize_parameters()
    sync(device)
    return steps / (time.perf_counter() - t)


def time_to_accuracy_line(cfg: Config, target: float, metric: str = "R1") -> str:
    """Train (or read) ``cfg``'s teacher and TS-GAN with per-epoch evaluation; one line saying how
    many minutes of training reached ``metric`` >= ``target`` (%)."""
    cfg = replace(
        cfg, train__probe_eval=True, train__out_dir=cfg.train.out_dir or str(runs_dir() / "bench")
    )
    get_or_train_tsgan(cfg)
    probes = cached_run(cfg, "tsgan").read_metrics("probe")
    teacher = ""
    if needs_teacher(cfg):
        t_epochs = cached_run(cfg, "teacher").read_metrics("epoch")
        if t_epochs and "seconds" in t_epochs[-1]:
            teacher = f", after {t_epochs[-1]['seconds'] / 60:.1f} min of teacher pretraining"
    hit = time_to_accuracy(probes, target, metric)
    best = max(probes, key=lambda p: p[metric])
    head = f"time to {metric} >= {target:g}% ({cfg.name} preset, {cfg.data.dataset}): "
    if hit is None:
        return (
            f"{head}not reached in {probes[-1]['epoch']} epochs "
            f"({probes[-1]['seconds'] / 60:.1f} min of TS-GAN training{teacher}); "
            f"best {metric} {best[metric]:.1f} at epoch {best['epoch']}"
        )
    return (
        f"{head}{hit['seconds'] / 60:.1f} min of TS-GAN training (epoch {hit['epoch']} of "
        f"{probes[-1]['epoch']}, {metric} {hit[metric]:.1f}){teacher}; "
        f"final {metric} {probes[-1][metric]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper", choices=sorted(PRESETS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=8, help="test-time batch size")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--P", type=int, default=2, help="training identities per batch")
    parser.add_argument("--K", type=int, default=2, help="training pairs per identity")
    parser.add_argument("--steps", type=int, default=2, help="timed training steps")
    parser.add_argument("--amp", default="off", choices=("off", "bf16", "fp16"))
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument(
        "--time-to",
        type=float,
        default=None,
        metavar="R1",
        help="also train the preset (+ overrides); print the minutes of training to this R1 (%%)",
    )
    parser.add_argument(
        "overrides", nargs="*", help="section.field=value for --time-to (e.g. data.root=...)"
    )
    args = parser.parse_args()
    device = resolve_device(args.device)
    cfg = get_config(
        args.preset,
        {
            "model.pretrained": "",
            "data.P": args.P,
            "data.K": args.K,
            "train.amp": args.amp,
            "train.channels_last": args.channels_last,
        },
    )
    h, w = cfg.data.height, cfg.data.width
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    student = build_backbone(cfg.model, 395).to(device, memory_format=fmt).eval()
    plain = (
        plain_resnet(cfg.model.arch, cfg.model.last_stride, cfg.model.width)
        .to(device, memory_format=fmt)
        .eval()
    )
    x = torch.rand(args.batch, 3, h, w, device=device).contiguous(memory_format=fmt)
    ips = images_per_second(
        {
            "student backbone (TS-GAN at test time)": student.features,
            f"plain torchvision {cfg.model.arch}": plain,
        },
        x,
        args.reps,
        args.amp,
    )
    print(
        f"test time, {cfg.model.arch} last stride {cfg.model.last_stride}, {h}x{w}, batch "
        f"{args.batch}, {device}, amp={args.amp}:"
    )
    for name, v in ips.items():
        print(f"  {name:<40} {v:8.1f} images/s")
    a, b = ips.values()
    print(f"  ratio {a / b:.3f} ({'within' if abs(a / b - 1) <= 0.05 else 'OUTSIDE'} 5%)")

    print(f"training step, P={args.P} x K={args.K} pairs, {args.steps} timed steps:")
    for name, overrides in (
        ("backbone only", {"train.use_gan": False, "train.use_teacher": False}),
        ("full TS-GAN step (Algorithm 1)", {}),
    ):
        c = get_config(
            args.preset,
            {
                **{
                    "model.pretrained": "",
                    "data.P": args.P,
                    "data.K": args.K,
                    "train.amp": args.amp,
                    "train.channels_last": args.channels_last,
                },
                **overrides,
            },
        )
        sps = train_steps_per_second(c, device, args.steps)
        print(f"  {name:<40} {sps:8.3f} steps/s  {sps * args.P * args.K:8.1f} pairs/s")
    if args.time_to is not None:
        print(time_to_accuracy_line(get_config(args.preset, args.overrides), args.time_to))


if __name__ == "__main__":
    main()
