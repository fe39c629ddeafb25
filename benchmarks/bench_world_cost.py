"""What a bigger embedded world costs: picture counts (exact, from the plan) and the generation and
data-loading seconds they imply, estimated from a small timed sample (the CPU is shared).

    python benchmarks/bench_world_cost.py                    # v3 default, v4 at 200 / 300 / 395
    python benchmarks/bench_world_cost.py --train-ids 200 395 --sample 60

Per world size it prints the pictures of the tree (train+val, test; RGB, IR), the seconds to
render and save them (the per-picture time of ``--sample`` pictures rendered and saved here in one
process, divided by the generator's worker processes) and to decode and resize the training
pictures once to the cpu preset's 64x32 (what ``data.cache`` builds before the first step). A
cpu-preset run's steps do not grow with the identities (``data.batches_per_epoch`` = 20 batches
per epoch); its evaluation grows with the test pictures (96 test identities in every v4 size).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from tsgan.data.synthetic import generator, options_for, plan_sysu, world_options
from tsgan.data.sysu import RGB_CAMS


def sizes(seed: int, options: dict) -> dict[str, int]:
    """Pictures of the tree ``options`` describe: train+val and test, RGB and IR."""
    plan = plan_sysu(seed, **options)
    test = set(plan.test_ids)
    out = {"train ids": len(plan.train_ids) + len(plan.val_ids), "test ids": len(test)}
    for (pid, cam), n in plan.counts.items():
        split = "test" if pid in test else "train+val"
        key = f"{split} {'RGB' if cam in RGB_CAMS else 'IR'}"
        out[key] = out.get(key, 0) + n
    return out


def per_picture_seconds(seed: int, options: dict, sample: int) -> tuple[float, float]:
    """Seconds to render and save one picture, and to decode and resize it to 64x32, measured on
    the first ``sample`` pictures of the plan (one process)."""
    opts = options_for("sysu", **options)
    keys = [
        (pid, cam, i)
        for (pid, cam), n in sorted(plan_sysu(seed, **opts).counts.items())
        for i in range(1, n + 1)
    ][:sample]
    cameras = generator.world(seed, opts["height"], opts["width"], name=generator.world_name(opts))
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"{k}.jpg" for k in range(len(keys))]
        start = time.perf_counter()
        for (pid, cam, i), path in zip(keys, paths):
            img = generator.picture(seed, pid, cam, i, opts["height"], opts["width"], cameras)
            generator._save(img, path)
        render = (time.perf_counter() - start) / len(keys)
        start = time.perf_counter()
        for path in paths:
            np.asarray(Image.open(path).convert("RGB").resize((32, 64), Image.BILINEAR))
        decode = (time.perf_counter() - start) / len(keys)
    return render, decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-ids", type=int, nargs="+", default=[200, 300, 395])
    parser.add_argument("--sample", type=int, default=40, help="pictures timed per world")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    worlds = [("v3 default", {})] + [
        (f"v4 {n} train ids", world_options("v4", n)) for n in args.train_ids
    ]
    timing = {
        name: per_picture_seconds(args.seed, opts, args.sample)
        for name, opts in (worlds[0], worlds[1])
    }
    print(
        f"per picture ({args.sample} timed, 1 process): "
        + ", ".join(
            f"{k}: render+save {r * 1e3:.1f} ms, decode+resize {d * 1e3:.2f} ms"
            for k, (r, d) in timing.items()
        )
    )
    print(
        f"\n{'world':<20} {'ids tr/te':>10} {'train RGB':>9} {'train IR':>8} {'IR/RGB':>6} "
        f"{'test pics':>9} {'generate s':>10} {'cache s':>7}"
    )
    for name, opts in worlds:
        s = sizes(args.seed, opts)
        render, decode = timing[worlds[0][0] if name == worlds[0][0] else worlds[1][0]]
        total = sum(v for k, v in s.items() if k.endswith(("RGB", "IR")))
        train = s.get("train+val RGB", 0) + s.get("train+val IR", 0)
        test = s.get("test RGB", 0) + s.get("test IR", 0)
        gen = total * render / generator.WORKERS
        print(
            f"{name:<20} {s['train ids']:>4}/{s['test ids']:<5} {s['train+val RGB']:>9} "
            f"{s['train+val IR']:>8} {s['train+val IR'] / s['train+val RGB']:>6.2f} {test:>9} "
            f"{gen:>10.0f} {train * decode:>7.1f}"
        )


if __name__ == "__main__":
    main()
