"""Evaluator speed: the SYSU-MM01 trials through tsgan.eval.report.evaluate_features, and
evaluate_rank against a plain per-query loop, at SYSU-MM01 and Market sizes.

Synthetic 2048-d features with identity structure. SYSU cases: 3,803 IR queries and a pool of
301 RGB (identity, camera) groups of 22 images, galleries drawn per trial by the seeded draw of
the protocol; ``evaluate_features`` (distances for the union of the trials' galleries at once, then
the metrics) is timed against the per-trial way (one distance product per trial, then the same
metrics), and its trial 0 against the loop reference (tsgan.eval.reference).
Target (2-core CPU): the 10-trial SYSU-MM01 single-shot evaluation (3,803 x 301) under 2 s.

Target: multi-shot (3,803 x 3,010) metrics >= 8x faster than the loop, identical numbers (the
evaluator ranks only the true matches: no argsort).

Settings: the script sets no environment variable: the numbers are what a user who sets nothing
gets (torch's default threads and OpenMP wait policy; the metrics run on one thread of their own
accord, see tsgan.threads). The loop is numpy on one thread. ``--repeat N`` times ours and the
loop N times, alternating, and prints medians with their range; the speed-up is the ratio of the
medians, wall and CPU time. For tuned settings run it again with OMP_WAIT_POLICY=PASSIVE or
``--threads 1`` (the wait policy is read at process start).

    python benchmarks/bench_eval.py [--trials 10] [--skip-loop] [--threads N] [--only TEXT]
                                    [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from tsgan.config import get_config
from tsgan.data.protocols import seeded_draw
from tsgan.data.records import Sample
from tsgan.eval import euclidean_distance, evaluate_rank
from tsgan.eval.reference import evaluate_loop
from tsgan.eval.report import evaluate_features

DIM = 2048
SYSU_QUERIES, SYSU_IDS, SYSU_GROUP_SIZE = 3803, 96, 22


def synthetic_features(
    n_ids: int, pids: np.ndarray, rng: np.random.Generator, signal: float = 0.25
) -> torch.Tensor:
    """Identity centres plus noise, L2-normalised; ``signal`` sets how separable identities are
    (R1 ~ 50%)."""
    centres = rng.normal(size=(n_ids, DIM)).astype(np.float32)
    x = signal * centres[pids] + rng.normal(size=(len(pids), DIM)).astype(np.float32)
    return torch.nn.functional.normalize(torch.from_numpy(x), dim=1)


def sysu_case(shots: int, trials: int, skip_loop: bool, seed: int = 0) -> None:
    """All-search SYSU-MM01 trials: ``evaluate_features`` against per-trial distance products."""
    rng = np.random.default_rng(seed)
    cams = [(pid, cam) for pid in range(SYSU_IDS) for cam in (1, 2, 4, 5)]
    groups = sorted(cams[i] for i in rng.choice(len(cams), 301, replace=False))
    pool = [
        Sample(f"rgb/{pid:04d}/cam{cam}/{i:02d}.jpg", pid, cam, "rgb")
        for pid, cam in groups
        for i in range(SYSU_GROUP_SIZE)
    ]
    queries = [
        Sample(f"ir/{i:05d}.jpg", int(pid), int(cam), "ir")
        for i, (pid, cam) in enumerate(
            zip(rng.integers(0, SYSU_IDS, SYSU_QUERIES), rng.choice([3, 6], SYSU_QUERIES))
        )
    ]
    samples = queries + pool
    feats = synthetic_features(SYSU_IDS, np.array([s.pid for s in samples]), rng)
    index = {s.path: i for i, s in enumerate(samples)}
    setting = f"all-search {'single' if shots == 1 else 'multi'}-shot"
    trial_list = [
        dict(
            setting=setting,
            mode="all",
            shots=shots,
            direction="ir_to_rgb",
            draw="seeded",
            protocol="sysu",
            trial=t,
            queries=queries,
            gallery=seeded_draw(pool, t, shots),
        )
        for t in range(trials)
    ]
    cfg = get_config(
        "cpu", {"eval.rerank": False, "eval.feat_norm": False}
    )  # the features are unit-length already
    t0, c0 = time.perf_counter(), time.process_time()
    report = evaluate_features(feats, index, trial_list, cfg, progress=False)[0]
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    qf, q_pids, q_cams = (
        feats[:SYSU_QUERIES],
        np.array([s.pid for s in queries]),
        np.array([s.cam for s in queries]),
    )
    t0, c0 = time.perf_counter(), time.process_time()
    for t in trial_list:
        rows = torch.tensor([index[s.path] for s in t["gallery"]])
        dist = euclidean_distance(qf, feats[rows])
        evaluate_rank(
            dist,
            q_pids,
            np.array([s.pid for s in t["gallery"]]),
            q_cams,
            np.array([s.cam for s in t["gallery"]]),
        )
    t_per, c_per = time.perf_counter() - t0, time.process_time() - c0
    ng = len(trial_list[0]["gallery"])
    union = len({s.path for t in trial_list for s in t["gallery"]})
    line = (
        f"SYSU all {setting.split()[1]:<11} {SYSU_QUERIES} x {ng:<5} {trials:>2} trial(s), "
        f"{union} distinct gallery images: "
        f"evaluate_features {t_ours:6.2f} s (cpu {c_ours:6.2f} s);  "
        f"per-trial products {t_per:6.2f} s (cpu {c_per:6.2f} s)"
    )
    if not skip_loop:
        g0 = trial_list[0]["gallery"]
        dist = euclidean_distance(qf, feats[torch.tensor([index[s.path] for s in g0])]).numpy()
        cmc, m_ap, m_inp, _ = evaluate_loop(
            dist, q_pids, np.array([s.pid for s in g0]), q_cams, np.array([s.cam for s in g0])
        )
        first = report["trials"][0]
        diff = max(
            abs(first["R1"] - cmc[0]),
            abs(first["R20"] - cmc[19]),
            abs(first["mAP"] - m_ap),
            abs(first["mINP"] - m_inp),
        )
        line += f";  trial 0 vs loop reference: max |diff| {diff:.1e}"
    m = report["mean"]
    print(
        line + f"  (R1 {100 * m['R1']:.2f}, mAP {100 * m['mAP']:.2f}, mINP {100 * m['mINP']:.2f})",
        flush=True,
    )


def median_and_range(runs: list[tuple[float, float]]) -> tuple[tuple[float, float], str]:
    """(median wall, median cpu) of the runs and, for several, the wall range as text."""
    wall = sorted(w for w, _ in runs)
    cpu = sorted(c for _, c in runs)
    spread = (
        f"; median of {len(runs)}, wall {wall[0]:.2f}-{wall[-1]:.2f} s" if len(runs) > 1 else ""
    )
    return (float(np.median(wall)), float(np.median(cpu))), spread


def case(
    name: str,
    nq: int,
    ng: int,
    n_ids: int,
    protocol: str,
    trials: int,
    skip_loop: bool,
    repeat: int = 1,
    seed: int = 0,
) -> None:
    rng = np.random.default_rng(seed)
    q_pids, g_pids = rng.integers(0, n_ids, nq), rng.integers(0, n_ids, ng)
    q_cams = rng.choice([3, 6], nq) if protocol == "sysu" else rng.integers(1, 7, nq)
    g_cams = rng.choice([1, 2, 4, 5], ng) if protocol == "sysu" else rng.integers(1, 7, ng)
    feats = synthetic_features(n_ids, np.concatenate([q_pids, g_pids]), rng)
    qf, gf = feats[:nq], feats[nq:]
    t0 = time.perf_counter()
    dists = [
        euclidean_distance(qf, gf) for _ in range(trials)
    ]  # one per trial, as the gallery changes
    t_dist = time.perf_counter() - t0
    times: dict[str, list[tuple[float, float]]] = {"ours": [], "loop": []}
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        ours = [evaluate_rank(d, q_pids, g_pids, q_cams, g_cams, protocol) for d in dists]
        times["ours"].append((time.perf_counter() - t0, time.process_time() - c0))
        if not skip_loop:
            dist = dists[0].numpy()
            t0, c0 = time.perf_counter(), time.process_time()
            ref = [
                evaluate_loop(dist, q_pids, g_pids, q_cams, g_cams, protocol) for _ in range(trials)
            ]
            times["loop"].append((time.perf_counter() - t0, time.process_time() - c0))
    (t_ours, c_ours), spread = median_and_range(times["ours"])
    line = (
        f"{name:<38} {trials:>2} trial(s)  distances+metrics {t_dist + t_ours:6.2f} s;  "
        f"metrics: ours {t_ours:6.2f} s (cpu {c_ours:6.2f} s{spread})"
    )
    if not skip_loop:
        (t_loop, c_loop), loop_spread = median_and_range(times["loop"])
        diff = max(
            max(np.abs(o["cmc"] - r[0]).max(), abs(o["mAP"] - r[1]), abs(o["mINP"] - r[2]))
            for o, r in zip(ours, ref)
        )
        line += (
            f"  loop {t_loop:6.2f} s (cpu {c_loop:6.2f} s{loop_spread})  "
            f"speed-up {t_loop / t_ours:5.1f}x wall, {c_loop / c_ours:5.1f}x cpu  "
            f"max |diff| {diff:.1e}"
        )
    r = ours[0]
    print(
        line
        + f"  (R1 {100 * r['cmc'][0]:.2f}, mAP {100 * r['mAP']:.2f}, mINP {100 * r['mINP']:.2f})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--skip-loop", action="store_true", help="time only our evaluator")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs of each side (median)")
    parser.add_argument(
        "--only", default="", help="run only the cases whose name contains this text"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads for ours "
        "(tsgan.threads: 1 for the metrics, these for large distance products), "
        f"the loop single-threaded numpy; {os.cpu_count()} cpus, "
        f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}; "
        f"distances + metrics per trial, {DIM}-d features; "
        "cpu = process CPU time over all threads"
    )
    runs = {
        "SYSU trials single-shot": lambda: sysu_case(1, args.trials, args.skip_loop),
        "SYSU trials multi-shot": lambda: sysu_case(10, args.trials, args.skip_loop),
        "SYSU all single-shot 3803 x 301": lambda: case(
            "SYSU all single-shot 3803 x 301",
            3803,
            301,
            96,
            "sysu",
            args.trials,
            args.skip_loop,
            args.repeat,
        ),
        "SYSU all multi-shot 3803 x 3010": lambda: case(
            "SYSU all multi-shot 3803 x 3010",
            3803,
            3010,
            96,
            "sysu",
            args.trials,
            args.skip_loop,
            args.repeat,
        ),
        "Market scale 3368 x 15913 (llcm rule)": lambda: case(
            "Market scale 3368 x 15913 (llcm rule)",
            3368,
            15913,
            751,
            "llcm",
            1,
            args.skip_loop,
            args.repeat,
        ),
    }
    for name, run in runs.items():
        if args.only in name:
            run()


if __name__ == "__main__":
    main()
