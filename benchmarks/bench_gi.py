"""G_I study: twin L1 / SSIM on validation pictures, of CycleGAN stages or of whole TS-GAN runs.

    python benchmarks/bench_gi.py --steps 300 --every 50 --variants deconv resize resize-omega3
    python benchmarks/bench_gi.py --steps 800 loss.omega=3       # overrides apply to every variant
    python benchmarks/bench_gi.py --tsgan od jd jd-l3x10 jd-disc2x --seeds 2

Without --tsgan, each variant (``tsgan.experiments.gi_study.VARIANTS``) trains the CycleGAN stage
alone on the training identities of ``data.split=val`` (cached under runs/cache/cyclegan-*, so a
rerun only scores), and G_I's snapshots are scored against the true IR twins of the validation
identities' RGB pictures at the training size, beside the grayscale and channel-copy floors.
Writes benchmarks/results/gi_study_<preset>.json. One seed (``train.seed``): directions, not
evidence.

With --tsgan VARIANT ... (``tsgan.experiments.gi_pairing.VARIANTS``: the ordinary or joint D_I
and the joint path's strength), each (variant, seed) is a full TS-GAN run on ``data.split=val``
(cached under runs/cache/tsgan-*), scored by the validation harness (student R1 / mAP on the val
ids) and by G_I's twin error on the same pictures; paired differences against ``jd`` and
``jd - od``. Writes benchmarks/results/gi_study_jd_<preset>.json.

'--out -' writes nothing.
"""

from __future__ import annotations

import argparse
import time

from tsgan.cli.common import add_config_arguments, config_from_args
from tsgan.experiments import gi_pairing
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
    parser.add_argument(
        "--tsgan",
        nargs="+",
        default=None,
        metavar="VARIANT",
        help="study G_I of full TS-GAN runs instead, for these variants: "
        f"{' '.join(gi_pairing.VARIANTS)}",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="with --tsgan: training seeds train.seed, train.seed+1, ... (default 2)",
    )
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="with --tsgan: train nothing, score the runs already finished in the run cache",
    )
    parser.add_argument("--out", default=None, help="results file; '-': do not write")
    args = parser.parse_intermixed_args(argv)
    if args.tsgan is not None and args.variants is not None:
        parser.error("--variants (CycleGAN stages) and --tsgan (TS-GAN runs) are two studies")
    if args.tsgan is None and (args.seeds is not None or args.cached_only):
        parser.error("--seeds and --cached-only belong to --tsgan (the CycleGAN study: one seed)")
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    base = config_from_args(args)
    t = time.perf_counter()
    if args.tsgan is None:
        doc = run_study(base, get_variants(args.variants), args.steps, args.every)
        text, name = format_study, f"gi_study_{base.name}.json"
    else:
        try:
            variants = gi_pairing.get_variants(args.tsgan)
        except ValueError as e:
            parser.error(str(e))
        seeds = [base.train.seed + i for i in range(args.seeds or 2)]
        doc = gi_pairing.run_pairing_study(base, variants, seeds, cached_only=args.cached_only)
        if not doc["records"]:
            parser.error("no finished runs in the run cache; run without --cached-only")
        text, name = gi_pairing.format_pairing_study, f"gi_study_jd_{base.name}.json"
    doc["seconds"] = time.perf_counter() - t
    print(text(doc))
    print(f"{doc['seconds']:.0f} s (training and scoring; cached runs only score)")
    if args.out != "-":
        print(f"results: {save_results(doc, args.out or f'benchmarks/results/{name}')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
