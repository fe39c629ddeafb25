"""k-reciprocal re-ranking: tsgan.eval.rerank against the dense original (tsgan.eval.reference).

Each (case, implementation) runs in its own process so that its peak memory (max RSS) is its own.
Inputs: synthetic 2048-d features with identity structure, Euclidean distances (float64 for the
SYSU sizes, float32 at Market scale, where a float64 g x g matrix alone would take 2 GB).
Printed: wall time, CPU time, peak RSS and RSS once the inputs exist, the speed ratio, the
largest difference of the final distances and of R1/mAP/mINP.
Targets (2-core CPU): >= 20x faster than the dense version at N ~ 6,800 with equal metrics;
Market scale (3,368 x 15,913) under 4 GB peak.

On a shared, oversubscribed machine run it with OMP_WAIT_POLICY=PASSIVE (the children inherit
it): with the default policy the second OpenMP thread spins through the time slices it gets and
2 threads come out ~3x slower than 1. On an idle machine keep the default policy: re-ranking is
many short operations, and PASSIVE threads fall asleep between them (2 threads then lose to 1).
Measured on an idle 2-core CPU (N = 6,813): ~0.42 s with --threads 1 (~25x), ~0.29 s with the
default 2 threads and policy (~36x); the dense original ~10.8 s either way.

    python benchmarks/bench_rerank.py [--skip-dense] [--market-dense] [--threads N] [--only TEXT]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


from tsgan.eval.reference import re_ranking  # noqa: E402

from tsgan.eval import euclidean_distance, evaluate_rank, rerank  # noqa: E402

DIM = 2048
CASES = {  # name: (queries, gallery, identities, float64 inputs)
    "SYSU single-shot 3803 x 301": (3803, 301, 96, True),
    "SYSU multi-shot 3803 x 3010": (3803, 3010, 96, True),
    "Market scale 3368 x 15913": (3368, 15913, 751, False),
}


def labels(case: str) -> tuple[np.ndarray, ...]:
    nq, ng, n_ids, _ = CASES[case]
    rng = np.random.default_rng(0)
    return rng.integers(0, n_ids, nq), rng.integers(0, n_ids, ng), rng.choice([3, 6], nq), rng.choice([1, 2, 4, 5], ng)


def inputs(case: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    nq, ng, n_ids, f64 = CASES[case]
    q_pids, g_pids, _, _ = labels(case)
    gen = torch.Generator().manual_seed(1)
    centres = torch.randn(n_ids, DIM, generator=gen)
    pids = torch.from_numpy(np.concatenate([q_pids, g_pids]))
    x = torch.nn.functional.normalize(0.25 * centres[pids] + torch.randn(nq + ng, DIM, generator=gen), dim=1)
    if f64:
        x = x.double()
    q, g = x[:nq], x[nq:]
    return euclidean_distance(q, g), euclidean_distance(q, q), euclidean_distance(g, g)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(case: str, impl: str, out: str) -> None:
    """Run one implementation on one case; print a JSON line with its numbers, save its distances."""
    q_g, q_q, g_g = inputs(case)
    before = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    if impl == "ours":
        final = rerank(q_g, q_q, g_g).numpy()
    else:
        final = re_ranking(q_g.numpy(), q_q.numpy(), g_g.numpy())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    np.save(out, final)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak, "inputs_mb": before}))


def run_child(case: str, impl: str, threads: int, tmp: Path) -> tuple[dict, np.ndarray]:
    out = tmp / f"{impl}.npy"
    cmd = [sys.executable, __file__, "--child", case, impl, str(out), "--threads", str(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} on {case} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), np.load(out)


def scores(case: str, dist: np.ndarray) -> np.ndarray:
    r = evaluate_rank(dist, *labels(case), protocol="sysu")
    return np.array([r["cmc"][0], r["mAP"], r["mINP"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-dense", action="store_true", help="do not run the dense original (slow: ~1-2 min at N~6,800)")
    parser.add_argument("--market-dense", action="store_true", help="also run the dense original at Market scale (~8 GB)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    parser.add_argument("--child", nargs=3, metavar=("CASE", "IMPL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        return child(*args.child)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}; "
          "k1=20, k2=6, lambda=0.3; RSS in MB (inputs = RSS once the distance matrices exist)")
    with tempfile.TemporaryDirectory() as tmp:
        for case in (c for c in CASES if args.only in c):
            impls = ["ours"]
            if not args.skip_dense and (not case.startswith("Market") or args.market_dense):
                impls.append("dense")
            res = {impl: run_child(case, impl, args.threads, Path(tmp)) for impl in impls}
            for impl, (r, _) in res.items():
                print(f"{case:<30} {impl:<5} wall {r['wall']:7.2f} s  cpu {r['cpu']:7.2f} s  "
                      f"peak RSS {r['peak_mb']:7.0f} MB  (inputs {r['inputs_mb']:6.0f} MB)", flush=True)
            if "dense" in res:
                (ro, do), (rd, dd) = res["ours"], res["dense"]
                do, dd = do.astype(np.float64), dd.astype(np.float64)
                print(f"{case:<30} speed-up {rd['wall'] / ro['wall']:.1f}x wall, {rd['cpu'] / ro['cpu']:.1f}x cpu;  "
                      f"max |final diff| {np.abs(do - dd).max():.1e};  max |R1, mAP, mINP diff| "
                      f"{np.abs(scores(case, do) - scores(case, dd)).max():.1e}", flush=True)
            else:
                r1, m_ap, m_inp = scores(case, res["ours"][1])
                print(f"{case:<30} ours: R1 {100 * r1:.2f}, mAP {100 * m_ap:.2f}, mINP {100 * m_inp:.2f}", flush=True)


if __name__ == "__main__":
    main()
