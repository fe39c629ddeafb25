"""Evaluator speed: tsgan.eval.evaluate_rank against a plain per-query loop, at SYSU-MM01 and Market sizes.

Synthetic 2048-d features with identity structure; for each case: wall time of ours and of the
loop reference (tests/reference_eval.py), the speed ratio and the largest metric difference.
Target (2-core CPU): the 10-trial SYSU-MM01 single-shot evaluation (3,803 x 301) under 2 s.

    python benchmarks/bench_eval.py [--trials 10] [--skip-loop]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from reference_eval import eval_loop  # noqa: E402

from tsgan.eval import euclidean_distance, evaluate_rank  # noqa: E402

DIM = 2048


def synthetic_features(n_ids: int, pids: np.ndarray, rng: np.random.Generator, signal: float = 0.25) -> torch.Tensor:
    """Identity centres plus noise, L2-normalised; ``signal`` sets how separable identities are (R1 ~ 50%)."""
    centres = rng.normal(size=(n_ids, DIM)).astype(np.float32)
    x = signal * centres[pids] + rng.normal(size=(len(pids), DIM)).astype(np.float32)
    return torch.nn.functional.normalize(torch.from_numpy(x), dim=1)


def case(name: str, nq: int, ng: int, n_ids: int, protocol: str, trials: int, skip_loop: bool, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    q_pids, g_pids = rng.integers(0, n_ids, nq), rng.integers(0, n_ids, ng)
    q_cams = rng.choice([3, 6], nq) if protocol == "sysu" else rng.integers(1, 7, nq)
    g_cams = rng.choice([1, 2, 4, 5], ng) if protocol == "sysu" else rng.integers(1, 7, ng)
    feats = synthetic_features(n_ids, np.concatenate([q_pids, g_pids]), rng)
    qf, gf = feats[:nq], feats[nq:]
    t0 = time.perf_counter()
    dists = [euclidean_distance(qf, gf) for _ in range(trials)]   # one per trial, as the gallery changes
    t_dist = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    ours = [evaluate_rank(d, q_pids, g_pids, q_cams, g_cams, protocol) for d in dists]
    t_ours, c_ours = time.perf_counter() - t0, time.process_time() - c0
    line = (f"{name:<38} {trials:>2} trial(s)  distances+metrics {t_dist + t_ours:6.2f} s;  "
            f"metrics: ours {t_ours:6.2f} s (cpu {c_ours:6.2f} s)")
    if not skip_loop:
        dist = dists[0].numpy()
        t0, c0 = time.perf_counter(), time.process_time()
        ref = [eval_loop(dist, q_pids, g_pids, q_cams, g_cams, protocol) for _ in range(trials)]
        t_loop, c_loop = time.perf_counter() - t0, time.process_time() - c0
        diff = max(max(np.abs(o["cmc"] - r[0]).max(), abs(o["mAP"] - r[1]), abs(o["mINP"] - r[2])) for o, r in zip(ours, ref))
        line += f"  loop {t_loop:6.2f} s (cpu {c_loop:6.2f} s)  speed-up {t_loop / t_ours:5.1f}x  max |diff| {diff:.1e}"
    r = ours[0]
    print(line + f"  (R1 {100 * r['cmc'][0]:.2f}, mAP {100 * r['mAP']:.2f}, mINP {100 * r['mINP']:.2f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--skip-loop", action="store_true", help="time only our evaluator")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}; "
          f"distances + metrics per trial, {DIM}-d features; cpu = process CPU time over all threads")
    case("SYSU all single-shot 3803 x 301", 3803, 301, 96, "sysu", args.trials, args.skip_loop)
    case("SYSU all multi-shot 3803 x 3010", 3803, 3010, 96, "sysu", args.trials, args.skip_loop)
    case("Market scale 3368 x 15913 (llcm rule)", 3368, 15913, 751, "llcm", 1, args.skip_loop)


if __name__ == "__main__":
    main()
