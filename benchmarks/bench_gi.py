"""G_I study: twin L1 / SSIM on validation pictures against CycleGAN steps, per recipe variant.

    python benchmarks/bench_gi.py --steps 300 --every 50 --variants deconv resize resize-omega3
    python benchmarks/bench_gi.py --steps 800 loss.omega=3       # overrides apply to every variant

Each variant (``tsgan.experiments.gi_study.VARIANTS``) trains the CycleGAN stage alone on the
training identities of ``data.split=val`` (cached under runs/cache/cyclegan-*, so a rerun only
scores), and G_I's snapshots are scored against the true IR twins of the validation identities'
RGB pictures at the training size, beside the grayscale and channel-copy floors. Prints the table
and writes the document (default benchmarks/results/gi_study_<preset>.json; '-' writes nothing).
One seed (``train.seed``): directions, not evidence.
"""

from __future__ import annotations

import argparse
import time

from tsgan.cli.common import add_config_arguments, config_from_args
from tsgan.experiments.ablate_report import save_results
from tsgan.experiments.gi_study import VARIANTS, format_study, get_variants, run_study


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_config_arguments(parser, run_folder=False)
    parser.add_argument("--steps", type=int, default=300, help="CycleGAN steps per variant")
    parser.add_argument("--every", type=int, default=50, help="steps between scored snapshots")
    parser.add_argument(
        "--variants", nargs="+", default=None, help=f"default all: {' '.join(VARIANTS)}"
    )
    parser.add_argument("--out", default=None, help="results file; '-': do not write")
    args = parser.parse_intermixed_args(argv)
    base = config_from_args(args)
    t = time.perf_counter()
    doc = run_study(base, get_variants(args.variants), args.steps, args.every)
    doc["seconds"] = time.perf_counter() - t
    print(format_study(doc))
    print(f"{doc['seconds']:.0f} s (training and scoring; cached variants only score)")
    if args.out != "-":
        out = args.out or f"benchmarks/results/gi_study_{base.name}.json"
        print(f"results: {save_results(doc, out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
