"""Calibration of the embedded data: a fixed small CNN probe, 3 seeds, the SYSU-MM01 protocol.

    python benchmarks/bench_calibration.py           # writes benchmarks/results/calibration.json
    python benchmarks/bench_calibration.py --seeds 0 --out -    # one seed, print only
    python benchmarks/bench_calibration.py --jobs 3             # one process (1 thread) per seed
    python benchmarks/bench_calibration.py --world v4           # SYSU-structured world, own root
    python benchmarks/bench_calibration.py --world v4 --train-ids 395 --root data/synthetic_v4_395
    python benchmarks/bench_calibration.py --world v4 --table   # the whole table, trains nothing
    python benchmarks/bench_calibration.py --world v4 --merge A.json B.json   # seeds run apart
    python benchmarks/bench_calibration.py --world v4 --teacher-headroom --seeds 0 1 2 3 4 \
        --cached-only                          # the cached IR teachers, IR->RGB and IR->twins

The probe (``tsgan.experiments.calibration.Probe``, budget ``PROBE_BUDGET``: 32x16 input, 10
epochs, batch 64, width 16, Adam with a one-cycle learning rate 3e-3) is trained per seed on *both*
modalities of the training split (identity cross-entropy), then scored on the test split:
RGB->RGB (cams 1, 4 -> 2, 5), IR->IR (cam 3 -> 6) and IR->RGB (all-search, single-shot, the
SYSU-MM01 protocol with the cam3/cam2 rule), each over 10 seeded single-shot gallery draws.
Targets (mirroring SYSU-MM01's published ratios): R1 >= 85 % within each modality, 25-55 % for
IR->RGB. Beside them the twin-error floors (``tsgan.eval.twins``) of the grayscale conversion and
of the random channel copy, over every RGB test picture at the probe's 32x16.

``--world v4`` calibrates the SYSU-structured world (``tsgan.data.synthetic.SYSU_V4_DEFAULTS``, in
its own root, default ``data/synthetic_sysu_v4``; results in ``calibration_v4.json``) and adds the
``IR->twins`` row: IR->RGB with every RGB gallery picture replaced by its IR twin (target: at least
the IR->RGB R1 + 0.30, the headroom a perfect generator could reach). The v3 world's default
invocation is unchanged.

``--table`` trains nothing: it prints every calibration target with what was measured, from the
committed probe results and the data-only rows of the ablation on the validation identities
(``--rows``; for v4 ``results/validation/world-v4.json``, written by ``python -m tsgan ablate
--preset cpu --seeds 5 --cached-only --rows backbone twins twins-no-ts --results
results/validation/world-v4.json data.split=val data.world=v4 data.root=data/synthetic_sysu_v4``):
:mod:`tsgan.experiments.calibration_table`. With the teacher headroom results (``--headroom``,
for v4 by default ``results/validation/teacher-headroom-v4.json``) the table also judges the IR
teacher's ``IR->twins`` R1 on the validation identities against the Backbone's R1 + 30, paired
over seeds.

``--teacher-headroom`` trains nothing when the teachers are cached (``--cached-only`` refuses to
train; without it a missing teacher is trained first, minutes each): per seed S of ``--seeds`` it
loads the IR teacher of ``train.seed=S`` on the world's validation config (``--preset``, default
cpu, ``data.world``, ``data.root``, ``data.synth_train_ids`` from ``--world``, ``--root``,
``--train-ids``, ``data.split=val``, then any ``section.field=value`` overrides: the teachers the
ablation's rows of that seed use), scores it IR->RGB and IR->twins on the same trials of the
validation identities (:mod:`tsgan.experiments.teacher_headroom`) and writes the results with
their provenance to ``--out`` (default ``results/validation/teacher-headroom-<world>.json``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import torch

from tsgan.cli.common import check_output_file
from tsgan.config import PRESETS, get_config
from tsgan.data.synthetic import (
    GENERATOR_VERSION,
    MARKER,
    WORLDS,
    read_synthetic,
    world_options,
)
from tsgan.engine.provenance import cpu_model, git_state
from tsgan.eval.twin_gallery import PLAIN, TWINS
from tsgan.eval.twins import twin_floors
from tsgan.experiments.ablate_report import load_results
from tsgan.experiments.calibration import PROBE_BUDGET, calibrate
from tsgan.experiments.calibration_table import (
    calibration_table,
    format_table,
    merge_probe_results,
    probe_summary,
)
from tsgan.experiments.teacher_headroom import (
    MissingTeacherError,
    load_headroom,
    run_teacher_headroom,
)

DEFAULTS = {  # world -> (root, results file)
    "v3": ("data/synthetic_sysu", "benchmarks/results/calibration.json"),
    "v4": ("data/synthetic_sysu_v4", "benchmarks/results/calibration_v4.json"),
}
ROWS = {"v4": "results/validation/world-v4.json"}  # world -> the data-only rows (--table)


def headroom_file(world: str) -> str:
    """The teacher headroom results of ``world`` (``--teacher-headroom``'s output, ``--table``'s
    input)."""
    return f"results/validation/teacher-headroom-{world}.json"


def one_seed(root: str, seed: int, threads: int, options: dict) -> tuple[dict, float]:
    """Calibrate with probe seed ``seed`` on ``threads`` threads; return the results and seconds.
    ``options`` select the world (:func:`tsgan.data.synthetic.world_options`); a v4 world is also
    scored with the IR-twin gallery."""
    if threads:
        torch.set_num_threads(threads)
    t = time.perf_counter()
    data = read_synthetic(root, seed=0, progress=False, **options)
    res = calibrate(data, seed, twins=bool(options))
    return res, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", choices=WORLDS, default="v3", help="the embedded world")
    parser.add_argument(
        "--train-ids", type=int, default=0, help="v4: training identities (0: the default)"
    )
    parser.add_argument(
        "--root", default=None, help="embedded data (generated if missing; default per world)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained in parallel processes")
    parser.add_argument("--out", default=None, help="results file (default per world); '-': none")
    parser.add_argument(
        "--table",
        action="store_true",
        help="print the calibration table from the committed results (trains nothing)",
    )
    parser.add_argument(
        "--rows", default=None, help="--table: the data-only rows' ablation results (v4: default)"
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="FILE",
        default=None,
        help="unite probe results files of other seeds into --out (trains nothing)",
    )
    parser.add_argument(
        "--headroom",
        default=None,
        metavar="FILE",
        help="--table: the teacher headroom results (default per world, when present)",
    )
    parser.add_argument(
        "--teacher-headroom",
        action="store_true",
        help="score the cached IR teachers of the validation config IR->RGB and IR->twins",
    )
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="--teacher-headroom: train nothing; a teacher missing from the run cache is an error",
    )
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="cpu", help="--teacher-headroom: the preset"
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="section.field=value",
        help="--teacher-headroom: config overrides after the world's (e.g. train.device=cuda)",
    )
    args = parser.parse_intermixed_args()
    if not args.teacher_headroom and (args.cached_only or args.overrides):
        parser.error("--cached-only and config overrides belong to --teacher-headroom")
    if args.headroom is not None and not args.table:
        parser.error("--headroom belongs to --table")
    if args.teacher_headroom and (args.table or args.merge):
        parser.error("--teacher-headroom, --table and --merge are separate modes: choose one")
    if args.table:
        return print_table(parser, args)
    if args.merge:
        return merge_files(parser, args)
    if args.teacher_headroom:
        return teacher_headroom(args)
    try:
        options = world_options(args.world, args.train_ids)
    except ValueError as err:
        parser.error(str(err))
    root = args.root or DEFAULTS[args.world][0]
    out_file = args.out or DEFAULTS[args.world][1]
    start = time.perf_counter()
    data = read_synthetic(root, seed=0, progress=False, **options)
    threads = 1 if args.jobs > 1 else 0
    jobs = [(root, seed, threads, options) for seed in args.seeds]
    print(
        f"world {args.world} at {root}: {len(data.train_ids)} training identities, "
        f"{len(data.test_ids)} scored; {len(data.train)} training / {len(data.test)} test pictures",
        flush=True,
    )
    if args.jobs > 1:
        with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
            done = pool.starmap(one_seed, jobs)
    else:
        done = [one_seed(*job) for job in jobs]
    runs = {}
    for seed, (res, seconds) in zip(args.seeds, done):
        runs[seed] = res
        print(
            f"seed {seed}: "
            + ", ".join(f"{k} R1 {v['R1']:.3f}" for k, v in res.items())
            + f" ({seconds:.0f} s)",
            flush=True,
        )
    table = probe_summary(runs)
    print_summary(table)
    rgb_test = [s for s in data.test if s.modality == "rgb"]
    floors = twin_floors(rgb_test, size=PROBE_BUDGET["size"])
    print(
        f"\ntwin error (L1 grey, SSIM) over {len(rgb_test)} RGB test pictures "
        f"at {PROBE_BUDGET['size']}:"
    )
    for name, f in floors.items():
        print(f"  {name:<13} L1 {f['L1']:.4f}  SSIM {f['SSIM']:.4f}")
    wall = time.perf_counter() - start
    print(
        f"\nwall time {wall:.0f} s, torch {torch.__version__}, {args.jobs} process(es) x "
        f"{threads or torch.get_num_threads()} thread(s)"
    )
    if out_file != "-":
        out = Path(out_file)
        out.parent.mkdir(parents=True, exist_ok=True)
        result = {
            "settings": table,
            "per_seed": {str(s): r for s, r in runs.items()},
            "twin_floors": floors,
            "probe": {
                "budget": {**PROBE_BUDGET, "size": list(PROBE_BUDGET["size"])},
                "trained_on": "both modalities (one probe per seed for all three settings)",
            },
            "protocol": "all-search, single-shot, 10 seeded trials (tsgan.data.protocols)",
            "provenance": {
                "git_commit": (git_state() or {}).get("commit", "unknown"),
                "generator_version": GENERATOR_VERSION,
                "world": args.world,
                "data_options": json.loads((Path(data.root) / MARKER).read_text())["options"],
                "data_seed": 0,
                "seeds": args.seeds,
                "wall_time_s": round(wall, 1),
                "cpu": cpu_model(),
                "torch": torch.__version__,
                "threads": threads or torch.get_num_threads(),
                "jobs": args.jobs,
            },
        }
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {out}")


def print_summary(table: dict) -> None:
    """The probe's summary over its seeds (:func:`probe_summary`), one line per setting."""
    print(
        f"\n{'setting':<9} {'R1 mean':>8} {'+-sd':>6} {'mAP mean':>9} {'+-sd':>6} "
        f"{'chance':>7}  target"
    )
    for name, r in table.items():
        lo, hi = r["target_R1"]
        print(
            f"{name:<9} {r['R1_mean']:>8.3f} {r['R1_sd']:>6.3f} {r['mAP_mean']:>9.3f} "
            f"{r['mAP_sd']:>6.3f} {r['chance_R1']:>7.3f}  [{lo:.2f}, {hi:.2f}] "
            f"{'met' if r['met'] else 'MISSED'}"
        )


def merge_files(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--merge A B ...``: one results file (``--out``, default per world) from probe results of
    separate runs (other seeds, other processes or sessions); the summary over all their seeds."""
    out = args.out or DEFAULTS[args.world][1]
    if out == "-":
        parser.error("--merge writes its result: give --out a file")
    docs = []
    for name in args.merge:
        if not Path(name).is_file():
            parser.error(f"no results at {name}")
        docs.append(json.loads(Path(name).read_text()))
    try:
        merged = merge_probe_results(docs)
    except ValueError as err:
        parser.error(str(err))
    if merged["provenance"].get("world", "v3") != args.world:
        parser.error(f"the files hold world {merged['provenance'].get('world')}, not {args.world}")
    print(f"seeds {merged['provenance']['seeds']} from {', '.join(args.merge)}")
    print_summary(merged["settings"])
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(merged, indent=1) + "\n")
    print(f"wrote {out}")


def user_error(message: object) -> None:
    """A mistake of the user's: one line on stderr, exit code 2, nothing written."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def teacher_headroom(args: argparse.Namespace) -> None:
    """``--teacher-headroom``: score each seed's IR teacher of the validation config IR->RGB and
    IR->twins; write the results file (``--out``, default :func:`headroom_file`; '-': none)."""
    root = args.root or DEFAULTS[args.world][0]
    world = [
        "data.dataset=synthetic",
        f"data.world={args.world}",
        f"data.root={root}",
        f"data.synth_train_ids={args.train_ids}",
        "data.split=val",
    ]
    out = args.out or headroom_file(args.world)
    try:
        base = get_config(args.preset, world + args.overrides)
        if out != "-":
            check_output_file(out, "--out", "teacher-headroom.json")
    except (KeyError, ValueError) as err:
        user_error(err.args[0] if isinstance(err, KeyError) else err)
    if len(set(args.seeds)) != len(args.seeds):
        user_error(f"--seeds names a seed twice: {args.seeds}")
    start = time.perf_counter()
    try:
        doc = run_teacher_headroom(base, args.seeds, cached_only=args.cached_only, progress=False)
    except MissingTeacherError as err:
        user_error(err)
    doc["wall_time_s"] = round(time.perf_counter() - start, 1)
    print(
        f"world {args.world} at {root}, {base.data.split} identities, preset {base.name}: the IR "
        "teacher of each seed, R1 / mAP (%)"
    )
    for r in doc["records"]:
        print(
            f"seed {r['seed']} ({r['run']}): {PLAIN} {r[PLAIN]['R1']:.1f} / "
            f"{r[PLAIN]['mAP']:.1f}, {TWINS} {r[TWINS]['R1']:.1f} / {r[TWINS]['mAP']:.1f}"
        )
    summary = doc["summary"]
    for name in (PLAIN, TWINS, f"{TWINS} - {PLAIN}"):
        cells = []
        for metric in ("R1", "mAP"):
            m = summary[name][metric]
            ci = "" if m["ci"] is None else f" [{m['ci'][0]:.1f}, {m['ci'][1]:.1f}]"
            cells.append(f"{metric} {m['mean']:.1f}{ci}")
        print(f"{name:<20} " + ", ".join(cells) + f" ({len(summary['seeds'])} seeds)")
    print(f"chance R1 {summary[PLAIN]['chance_R1']:.1f}; wall time {doc['wall_time_s']:.0f} s")
    if out != "-":
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {out}")


def print_table(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--table``: the probe's results file and the rows' results file, judged target by target."""
    rows_file = args.rows or ROWS.get(args.world)
    if rows_file is None:
        parser.error(f"--table for world {args.world} needs --rows (an ablation results file)")
    probe_file = Path(args.out if args.out not in (None, "-") else DEFAULTS[args.world][1])
    for path in (probe_file, Path(rows_file)):
        if not path.is_file():
            parser.error(f"no results at {path}")
    probe = json.loads(probe_file.read_text())
    headroom_path = args.headroom or headroom_file(args.world)
    headroom = None
    if args.headroom is not None or Path(headroom_path).is_file():
        try:
            headroom = load_headroom(headroom_path)
        except (FileNotFoundError, ValueError) as err:
            parser.error(str(err))
    try:
        table = calibration_table(probe, load_results(rows_file), headroom)
    except ValueError as err:
        parser.error(str(err))
    used = f", teacher headroom {headroom_path}" if headroom else ", no teacher headroom results"
    print(f"world {args.world}: probe {probe_file}, rows {rows_file}{used}")
    print(format_table(table))


if __name__ == "__main__":
    main()
