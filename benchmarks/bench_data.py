"""Images per second of the training data path, with and without the uint8 image cache.

    python benchmarks/bench_data.py                       # cpu preset
    python benchmarks/bench_data.py --preset paper --batches 50 data.workers=8

It runs on the embedded dataset (generated on first use at ``data.root``). The uncached path
decodes and resizes every JPEG; the cached one reads resized uint8 arrays (built once under
runs/cache/images, timed separately). Both apply the same training transforms.
Images counted per batch: 2 * P * K (RGB and IR).
"""

from __future__ import annotations

import argparse
import time

from tqdm.auto import tqdm

from tsgan.config import get_config, replace
from tsgan.data import ImageCache, build_train_loader
from tsgan.data.synthetic import read_synthetic, world_options


def images_per_second(cfg, dataset, batches: int) -> float:
    loader = build_train_loader(cfg, dataset)
    batches = min(batches, len(loader))
    it = iter(loader)
    next(it)  # start-up (worker processes, first decode) is not throughput
    start = time.perf_counter()
    for _ in tqdm(range(batches - 1), desc=f"cache={cfg.data.cache}", leave=False):
        next(it)
    return 2 * cfg.data.P * cfg.data.K * (batches - 1) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu")
    parser.add_argument(
        "--batches", type=int, default=40, help="batches timed per path (at most one epoch)"
    )
    parser.add_argument("overrides", nargs="*", help="config overrides, e.g. data.workers=2")
    args = parser.parse_args()
    cfg = get_config(args.preset, args.overrides)
    dataset = read_synthetic(
        cfg.data.root,
        seed=cfg.data.synth_seed,
        **world_options(cfg.data.world, cfg.data.synth_train_ids),
    )
    d = cfg.data
    print(
        f"{dataset.name}: {len(dataset.train)} training images, {d.height}x{d.width}, "
        f"P={d.P} K={d.K}, workers={d.workers}"
    )

    paths = [s.path for s in dataset.train]
    start = time.perf_counter()
    ImageCache.build(paths, (d.height, d.width))
    print(
        f"cache ready in {time.perf_counter() - start:.1f} s (built on first use, then "
        "memory-mapped)"
    )

    uncached = images_per_second(replace(cfg, data__cache=False), dataset, args.batches)
    cached = images_per_second(replace(cfg, data__cache=True), dataset, args.batches)
    print(f"{'path':<10} {'images/s':>10}")
    print(f"{'uncached':<10} {uncached:>10.0f}")
    print(f"{'cached':<10} {cached:>10.0f}")
    print(f"speed-up of the cache: x{cached / uncached:.2f}")


if __name__ == "__main__":
    main()
