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
    python benchmarks/bench_train.py --preset cpu --time-to R1   # to the committed rows' mean R1

4. Where the time goes (``--profile``): ``torch.profiler`` tables of a few steps of the teacher,
   of Algorithm 1 during the GAN warm-up and of the full Algorithm 1 step, at the preset's own
   batch: the steps' phases, the top operators by self CPU time and the top operators by input
   shape. Written to ``benchmarks/results/profile_train_<preset>.txt``.
5. What makes a step faster (``--compare``): each candidate against eager in one process, steps
   interleaved (A, B, A, B, ...) so that load drifts hit all: torch's multi-tensor Adam
   (``foreach=True``; on CPU torch steps one tensor at a time), channels-last, two intra-op threads,
   ``torch.compile`` (the first step compiles on an empty inductor cache; then a second process
   starts on the filled cache), and the data path (JPEG decoding per step against the uint8
   image cache).
   Wall-clock and CPU seconds per step are both printed: on a shared machine the CPU time is the
   steadier of the two, and the load average is printed beside them.

``--time-to R1`` (a metric name instead of a number) reads its targets from the committed results
of the preset (``results/ablation_<preset>.json``): the Backbone row's and the TS-GAN_JD row's mean,
each reached by training that row's own config; it prints one line per row for eager training and
one for the faster path (``--fast`` overrides, ``train.compile=true`` by default), each path in
its own folder under ``runs/bench/`` so that neither reads the other's cached runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from torch.profiler import ProfilerActivity, profile, record_function

from tsgan.config import PRESETS, Config, get_config, replace
from tsgan.data.dataset import build_train_loader
from tsgan.engine.device import autocast, move_batch, resolve_device
from tsgan.engine.step_model import StepModel
from tsgan.experiments.ablate import METRICS, select_rows
from tsgan.experiments.ablate_report import load_results
from tsgan.methods.teacher import IRBaseline
from tsgan.methods.tsgan import TSGAN
from tsgan.models import build_backbone
from tsgan.models.backbone import narrow_resnet
from tsgan.paths import REPO_ROOT, runs_dir
from tsgan.probes import time_to_accuracy
from tsgan.training import cached_run, get_or_train_tsgan, load_dataset, needs_teacher

RESULTS = Path(__file__).resolve().parent / "results"
# --time-to METRIC: the committed rows whose mean the preset's training is timed to reach
TIME_TO_ROWS = ("backbone", "jd")
# classes in the synthetic step models (any number works; the embedded data has 110)
NUM_CLASSES = 110


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


def committed_targets(results: dict, metric: str) -> dict[str, float]:
    """The committed mean ``metric`` of each row of ``TIME_TO_ROWS`` in a results document."""
    if metric not in METRICS:
        raise ValueError(f"--time-to takes a number or one of {', '.join(METRICS)}, got {metric!r}")
    means = {s["row"]: s["mean"][metric] for s in results["summary"]}
    missing = [r for r in TIME_TO_ROWS if r not in means]
    if missing:
        raise ValueError(f"the results file has no row {missing[0]!r}; rows: {sorted(means)}")
    return {r: means[r] for r in TIME_TO_ROWS}


def time_to_targets(
    base: Config, targets: dict[str, float], metric: str, paths: dict[str, dict[str, object]]
) -> list[str]:
    """For each training path (name -> overrides) and each row of ``targets``: the minutes of
    training of that row's config (seed ``train.seed``) until ``metric`` reaches the row's
    target; each path trains in its own ``<train.out_dir or runs/bench>/<name>`` folder."""
    lines = []
    root = Path(base.train.out_dir or runs_dir() / "bench")
    for name, overrides in paths.items():
        for row in select_rows(list(targets)):
            cfg = replace(
                row.config(base, base.train.seed), train__out_dir=str(root / name), **_kw(overrides)
            )
            line = time_to_accuracy_line(cfg, targets[row.key], metric)
            lines.append(f"{name} path, {row.name} (its committed mean {metric}): {line}")
            print(lines[-1], flush=True)
    return lines


# ---- where the time goes, and what makes a step faster ---------------------------------------
STEP_KINDS = {
    "teacher": "IR teacher step (P x teacher_K IR images)",
    "warm-up": "Algorithm 1 during the GAN warm-up (no X_I' in line 3)",
    "full": "full Algorithm 1 step (X_I', L_ReID^GAN, L_TS in line 3)",
}


def step_model(cfg: Config, kind: str, device: torch.device) -> tuple[StepModel, dict]:
    """A freshly initialised step model of ``kind`` (``STEP_KINDS``) at ``cfg``'s batch, and one
    random batch for it (same seeds for every call, so variants of one kind start equal)."""
    if kind == "teacher":
        cfg = replace(cfg, data__K=cfg.train.teacher_K)
    elif kind == "full":
        cfg = replace(cfg, optim__gan_warmup_epochs=0)
    P, K, h, w = cfg.data.P, cfg.data.K, cfg.data.height, cfg.data.width
    torch.manual_seed(0)
    if kind == "teacher":
        model: StepModel = IRBaseline(cfg, NUM_CLASSES, device)
    else:
        teacher = build_backbone(cfg.model, NUM_CLASSES) if needs_teacher(cfg) else None
        model = TSGAN(cfg, NUM_CLASSES, device, teacher)
    g = torch.Generator().manual_seed(1)
    batch = {
        "rgb": torch.rand(P * K, 3, h, w, generator=g),
        "ir": torch.rand(P * K, 1, h, w, generator=g).expand(-1, 3, -1, -1).contiguous(),
        "label": torch.arange(P).repeat_interleave(K),
    }
    return model.train(), move_batch(batch, device, cfg.train.channels_last)


def one_step(model: StepModel, batch: dict) -> dict[str, float]:
    model.set_input(batch)
    return model.optimize_parameters()


def label_phases(model: StepModel) -> None:
    """Name the phases of the model's step in the profiler's trace (instance attributes only)."""

    def labelled(fn, name):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(name):
                return fn(*args, **kwargs)

        return wrapper

    names = {
        "forward": "phase 1: G forward (4 generator passes)",
        "backward_G": "phase 1: L_G and its backward",
        "backward_B": "phase 3: L_Backbone and its backward",
        "backward_D": "phase 5-6: L_D and its backward",
        "generator_fmap": "phase 1/3: FE_S(X_I') with the student frozen",
        "step": "phase: optimizer steps",
    }
    if isinstance(model, IRBaseline):  # one forward, one backward (TS-GAN's are inside its lines)
        names["backward"] = "phase: backward (teacher)"
    for attr, name in names.items():
        if hasattr(model, attr):
            setattr(model, attr, labelled(getattr(model, attr), name))
    if isinstance(model, IRBaseline):
        net = model.train_nets["backbone"]
        net.forward = labelled(net.forward, "phase: backbone forward (teacher)")
    if "teacher" in model.nets:  # the frozen FE_T, called as a module
        model.nets["teacher"].forward = labelled(
            model.nets["teacher"].forward, "phase 3: FE_T (frozen teacher)"
        )


def profile_report(cfg: Config, device: torch.device, steps: int) -> str:
    """Profiler tables of ``steps`` steps of each ``STEP_KINDS`` model (after two warm-up steps)."""
    out = []
    for kind, title in STEP_KINDS.items():
        model, batch = step_model(cfg, kind, device)
        label_phases(model)
        for _ in range(2):
            one_step(model, batch)
        t, c = time.perf_counter(), time.process_time()
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            for _ in range(steps):
                one_step(model, batch)
        wall, cpu = (time.perf_counter() - t) / steps, (time.process_time() - c) / steps
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        out.append(
            f"=== {title}: {kind}, {steps} profiled steps, {wall:.3f} s wall / {cpu:.3f} s CPU "
            f"per step under the profiler, load {load()} ===\n"
        )
        out.append("phases (CPU total per step, % of the step's self CPU time):")
        for e in sorted(events, key=lambda e: -e.cpu_time_total):
            if e.key.startswith("phase"):
                share = 100 * e.cpu_time_total / total
                out.append(
                    f"  {e.key:<52} {e.cpu_time_total / 1e3 / steps:9.1f} ms  {share:5.1f} %"
                    f"  ({e.count // steps} calls per step)"
                )
        for group, rows in (("operator", False), ("operator and input shapes", True)):
            table = prof.key_averages(group_by_input_shape=rows).table(
                sort_by="self_cpu_time_total",
                row_limit=20 if not rows else 15,
                max_name_column_width=40,
                max_shapes_column_width=80,
            )
            out.append(f"\ntop by self CPU time, per {group}:\n{table}")
    return "\n".join(out)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def interleaved(variants: dict[str, tuple[StepModel, dict, int]], steps: int) -> dict:
    """Median wall and CPU seconds per step of each variant (model, batch, intra-op threads),
    the variants' steps interleaved; the losses of each variant's last step."""
    wall: dict[str, list[float]] = {k: [] for k in variants}
    cpu: dict[str, list[float]] = {k: [] for k in variants}
    losses: dict[str, dict[str, float]] = {}
    threads = torch.get_num_threads()
    try:
        for _ in range(steps):
            for name, (model, batch, n) in variants.items():
                torch.set_num_threads(n)
                t, c = time.perf_counter(), time.process_time()
                losses[name] = one_step(model, batch)
                wall[name].append(time.perf_counter() - t)
                cpu[name].append(time.process_time() - c)
    finally:
        torch.set_num_threads(threads)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k]), losses[k]) for k in variants}


# name -> (config overrides, intra-op threads); "eager" is the reference of the others.
# "adam.foreach" is no config field: it sets the optimizers' foreach flag once they are built
CANDIDATES: dict[str, tuple[dict[str, object], int]] = {
    "eager": ({}, 1),
    "Adam multi-tensor": ({"adam.foreach": True}, 1),
    "channels-last": ({"train.channels_last": True}, 1),
    "2 threads": ({}, 2),
    "torch.compile": ({"train.compile": True}, 1),
}


def compare_report(
    cfg: Config,
    device: torch.device,
    steps: int,
    candidates: dict[str, tuple[dict[str, object], int]] = CANDIDATES,
    kinds: tuple[str, ...] = ("teacher", "full"),
) -> list[str]:
    """Each candidate against eager, in this process (see the module docstring)."""
    lines = [
        f"candidates against eager, one process, {steps} interleaved steps each, load {load()}"
    ]
    for kind in kinds:
        variants, first = {}, {}
        for name, (overrides, threads) in candidates.items():
            overrides = dict(overrides)
            foreach = overrides.pop("adam.foreach", None)
            model, batch = step_model(replace(cfg, **_kw(overrides)), kind, device)
            for group in (g for o in model.optimizers.values() for g in o.param_groups):
                group["foreach"] = group["foreach"] if foreach is None else foreach
            t, c = time.perf_counter(), time.process_time()
            one_step(model, batch)  # the first step pays any compilation
            first[name] = (time.perf_counter() - t, time.process_time() - c)
            variants[name] = (model, batch, threads)
        res = interleaved(variants, steps)
        lines.append(f"{STEP_KINDS[kind]} ({kind}), load after: {load()}")
        base_wall, base_cpu, base_losses = res["eager"]
        for name, (wall, cpu, losses) in res.items():
            same = (
                "identical"
                if losses == base_losses
                else f"differ ({_max_diff(losses, base_losses)})"
            )
            lines.append(
                f"  {name:<14} {1 / wall:7.2f} steps/s wall ({base_wall / wall:4.2f}x)  "
                f"{cpu:6.3f} s CPU/step ({base_cpu / cpu:4.2f}x)  first step "
                f"{first[name][0]:6.1f} s wall  losses after {steps + 1} steps {same}"
            )
    return lines


def _kw(overrides: dict[str, object]) -> dict[str, object]:
    return {k.replace(".", "__"): v for k, v in overrides.items()}


def _max_diff(a: dict[str, float], b: dict[str, float]) -> str:
    k = max(a, key=lambda k: abs(a[k] - b[k]))
    return f"largest relative difference {abs(a[k] - b[k]) / max(abs(b[k]), 1e-12):.1e} in {k}"


def compile_start(preset: str, steps: int) -> dict[str, float]:
    """One process's compiled full step: the first step's seconds (compilation) and the median of
    the next ``steps`` (called in a child by :func:`compile_starts`)."""
    cfg = get_config(preset, {"model.pretrained": "", "train.compile": True})
    model, batch = step_model(cfg, "full", torch.device("cpu"))
    t, c = time.perf_counter(), time.process_time()
    one_step(model, batch)
    first = (time.perf_counter() - t, time.process_time() - c)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        one_step(model, batch)
        times.append(time.perf_counter() - t)
    return {"first_wall": first[0], "first_cpu": first[1], "step_wall": statistics.median(times)}


def compile_restart(preset: str, steps: int) -> str:
    """A second process compiling the full step on this process's inductor cache
    (``TORCHINDUCTOR_CACHE_DIR``, filled by :func:`compare_report`): what a new run pays when the
    compiled code of an earlier one is on disk."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    cmd = [sys.executable, __file__, "--preset", preset, "--compile-start", str(steps)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return (
        f"torch.compile in a new process on the same inductor cache: first full step "
        f"{r['first_wall']:.1f} s wall ({r['first_cpu']:.1f} s CPU), then "
        f"{1 / r['step_wall']:.2f} steps/s; load {load()}"
    )


def data_path_report(cfg: Config, batches: int) -> list[str]:
    """Seconds per training batch of the loader: JPEG decoding per step against the uint8 image
    cache (``data.cache``), batches interleaved."""
    loaders = {}
    for cache in (False, True):
        c = replace(cfg, data__cache=cache, data__workers=0)
        loaders[cache] = build_train_loader(c, load_dataset(c))
    its = {k: iter(v) for k, v in loaders.items()}
    wall: dict[bool, list[float]] = {k: [] for k in loaders}
    cpu: dict[bool, list[float]] = {k: [] for k in loaders}
    torch.manual_seed(0)
    for _ in range(batches):
        for k, it in its.items():
            t, c0 = time.perf_counter(), time.process_time()
            try:
                next(it)
            except StopIteration:
                its[k] = it = iter(loaders[k])
                next(it)
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c0)
    d = cfg.data
    lines = [f"data path, one training batch of {d.P} x {d.K} pairs at {d.height}x{d.width}:"]
    for k, name in ((False, "JPEG decoding per step"), (True, "uint8 image cache")):
        lines.append(
            f"  {name:<24} {1e3 * statistics.median(wall[k]):7.1f} ms wall "
            f"{1e3 * statistics.median(cpu[k]):7.1f} ms CPU per batch"
        )
    return lines


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
        default=None,
        metavar="R1",
        help="also train the preset (+ overrides) and print the minutes of training to this R1 "
        "(%%); a metric name (R1, mAP, ...) times the Backbone and TS-GAN_JD rows to their "
        "committed means (--results), eager and on the faster path (--fast)",
    )
    parser.add_argument(
        "--results",
        default=None,
        help="results file of --time-to METRIC (default results/ablation_<preset>.json)",
    )
    parser.add_argument(
        "--fast",
        nargs="*",
        default=["train.compile=true"],
        help="overrides of the faster path of --time-to METRIC (default train.compile=true)",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="",
        default=None,
        metavar="FILE",
        help="write profiler tables of the preset's steps to FILE "
        "(default benchmarks/results/profile_train_<preset>.txt) and stop",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="time channels-last, 2 threads, torch.compile and the data path against eager at the "
        "preset's batch, in this process, and stop",
    )
    parser.add_argument(
        "--candidates",
        nargs="+",
        default=None,
        choices=[c for c in CANDIDATES if c != "eager"],
        metavar="NAME",
        help=f"--compare only these against eager (of: {', '.join(list(CANDIDATES)[1:])})",
    )
    parser.add_argument("--compile-start", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "overrides", nargs="*", help="section.field=value for --time-to (e.g. data.root=...)"
    )
    args = parser.parse_args()
    if args.compile_start is not None:  # the child of compile_starts
        print(json.dumps(compile_start(args.preset, args.compile_start)))
        return
    device = resolve_device(args.device)
    if args.profile is not None or args.compare:
        cfg = get_config(args.preset, {"model.pretrained": "", **dict(map(_pair, args.overrides))})
        head = (
            f"# preset {args.preset}, P={cfg.data.P} x K={cfg.data.K} (teacher x "
            f"{cfg.train.teacher_K}), {cfg.data.height}x{cfg.data.width}, {device}, "
            f"{torch.get_num_threads()} thread(s), torch {torch.__version__}"
        )
        if args.profile is not None:
            path = Path(args.profile or RESULTS / f"profile_train_{args.preset}.txt")
            path.write_text(f"{head}\n{profile_report(cfg, device, args.steps)}\n")
            print(f"profile written to {path}")
        if args.compare:
            # a new inductor cache: the first compiled step of each kind compiles from nothing
            cache = tempfile.mkdtemp(prefix="inductor-")  # torch's default may be filled already
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
            print(f"{head}, inductor cache {os.environ['TORCHINDUCTOR_CACHE_DIR']}")
            chosen = {
                k: v for k, v in CANDIDATES.items() if k == "eager" or k in (args.candidates or [k])
            }
            for line in compare_report(cfg, device, args.steps, chosen):
                print(line, flush=True)
            if "torch.compile" in chosen:
                print(compile_restart(args.preset, args.steps), flush=True)
            for line in data_path_report(cfg, 2 * args.steps):
                print(line, flush=True)
        return
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
        ("Algorithm 1, GAN warm-up step", {}),
        ("full TS-GAN step (Algorithm 1)", {"optim.gan_warmup_epochs": 0}),
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
        base = get_config(args.preset, args.overrides)
        try:
            target = float(args.time_to)
        except ValueError:  # a metric name: the committed rows' means
            try:
                results = load_results(
                    args.results or REPO_ROOT / "results" / f"ablation_{args.preset}.json"
                )
                targets = committed_targets(results, args.time_to)
                paths = {"eager": {}, "fast": dict(map(_pair, args.fast))}
            except (FileNotFoundError, ValueError) as e:  # the user's mistake: one line, exit 2
                print(f"error: {e}", file=sys.stderr)
                sys.exit(2)
            time_to_targets(base, targets, args.time_to, paths)
        else:
            print(time_to_accuracy_line(base, target))


def _pair(item: str) -> tuple[str, str]:
    if "=" not in item:
        raise ValueError(f"override {item!r} must look like section.field=value")
    key, value = item.split("=", 1)
    return key, value


if __name__ == "__main__":
    main()
