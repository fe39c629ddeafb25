"""k-reciprocal re-ranking: tsgan.eval.rerank and rerank_features against the dense original.

The dense original is ``tsgan.eval.reference.re_ranking``, the widely copied
``re_ranking_ranklist.py`` operation for operation (numpy, float32 from the squared distances on).
Each (case, implementation) runs in its own process so that its peak memory (max RSS) is its own.
Inputs: synthetic 2048-d float32 features with identity structure (identity centres plus noise,
L2-normalised) and, for ``rerank`` and the original, their Euclidean distances as the evaluation
builds them (``euclidean_distance``, float32, as features from a network are).
Implementations: ``dense`` (the original), ``ours`` (``rerank`` on the three matrices),
``features`` (``rerank_features`` on the features: no N x N matrix).
Printed: wall time, CPU time, peak RSS and RSS once the inputs exist, the speed ratio, the
largest difference of the final distances and of R1/mAP/mINP against ``ours`` or the original;
for ``features``, the FLOP rate of its distance blocks beside the matmul peak measured in the same
process (a (256, 2048) x (2048, 20000) float32 product, the shape of one block).
Targets (2-core CPU): >= 25x faster than the original at N = 6,813 with equal metrics; Market
scale (3,368 x 15,913) from features under 1 GB peak beyond the inputs; MSMT17 scale
(11,659 x 82,161) from features under 20 GB peak and 30 minutes.

Settings: the script sets no environment variable, so the first numbers are what a user who sets
nothing gets (torch's default threads, the default OpenMP wait policy; the package picks its own
thread counts, see tsgan.threads). ``--tuned`` adds, beside them, runs of ours with
OMP_WAIT_POLICY=PASSIVE (read at process start: each run is its own process). ``--repeat N`` runs
each child N times and prints the median wall and CPU times with their range; the speed ratios
are ratios of medians within this one run. The original is numpy on one thread; ours uses torch's
threads where tsgan.threads gives them (large distance products), one thread elsewhere.

    python benchmarks/bench_rerank.py [--skip-dense] [--market-dense] [--threads N] [--only TEXT]
                                      [--repeat N] [--tuned]
    python benchmarks/bench_rerank.py --identity 20   # symmetric search, 20 fresh processes
    nice python benchmarks/bench_rerank.py --only MSMT17     # ~93,820 images: run it alone

``--identity N`` repeats the check that keeps ``rerank_features(..., symmetric=True)`` opt-in: the
SYSU multi-shot case once with the default block search and N times with the symmetric search,
each in a fresh process, printing every run's largest difference from the block search and the
load. At load ~2, 1 of 6 such runs differed by 0.096 where the others agreed to 1.2e-07; none of
56 later runs did, most at load 9-17 (docs/ARCHITECTURE.md, "re-ranking from features:
symmetry").
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

from tsgan.eval import (
    euclidean_distance,
    evaluate_rank,
    rerank,
    rerank_features,
    reranking_search,
)
from tsgan.eval.reference import re_ranking

DIM = 2048
CASES = {  # name: (queries, gallery, identities, implementations)
    "SYSU single-shot 3803 x 301": (3803, 301, 96, ("ours", "dense", "features")),
    "SYSU multi-shot 3803 x 3010": (3803, 3010, 96, ("ours", "dense", "features")),
    "Market scale 3368 x 15913": (3368, 15913, 751, ("ours", "features")),
    "MSMT17 scale 11659 x 82161": (11659, 82161, 4101, ("features",)),
}


def labels(case: str) -> tuple[np.ndarray, ...]:
    nq, ng, n_ids, _ = CASES[case]
    rng = np.random.default_rng(0)
    return (
        rng.integers(0, n_ids, nq),
        rng.integers(0, n_ids, ng),
        rng.choice([3, 6], nq),
        rng.choice([1, 2, 4, 5], ng),
    )


def features(case: str) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 query and gallery features: identity centres plus noise, L2-normalised."""
    nq, ng, n_ids, _ = CASES[case]
    q_pids, g_pids, _, _ = labels(case)
    gen = torch.Generator().manual_seed(1)
    centres = torch.randn(n_ids, DIM, generator=gen)
    x = torch.empty(nq + ng, DIM)
    pids = torch.from_numpy(np.concatenate([q_pids, g_pids]))
    for s in range(0, nq + ng, 8192):  # a block at a time: no second (N, DIM) temporary
        e = min(s + 8192, nq + ng)
        x[s:e] = torch.nn.functional.normalize(
            0.25 * centres[pids[s:e]] + torch.randn(e - s, DIM, generator=gen), dim=1
        )
    return x[:nq], x[nq:]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def matmul_peak() -> float:
    """GFLOP/s of a float32 (256, DIM) x (DIM, 20000) product, best of three."""
    a, b = torch.randn(256, DIM), torch.randn(20000, DIM)
    best = float("inf")
    for _ in range(4):
        t0 = time.perf_counter()
        a @ b.T
        best = min(best, time.perf_counter() - t0)
    return 2 * 256 * DIM * 20000 / best / 1e9


def child(case: str, impl: str, out: str) -> None:
    """Run one implementation on one case; print a JSON line with its numbers, save its
    distances."""
    qf, gf = features(case)
    if impl not in ("features", "symmetric"):
        q_g, q_q, g_g = (
            euclidean_distance(qf, gf),
            euclidean_distance(qf, qf),
            euclidean_distance(gf, gf),
        )
        del qf, gf
    extra = {}
    if impl == "features":
        blocks = {"seconds": 0.0, "flop": 0.0}
        # the block search's column blocks (the default) and the symmetric search's products
        columns = reranking_search._FeatureDistance.squared_columns_as_rows
        products = reranking_search._FeatureDistance.products

        def timed_columns(self, start, stop):
            return timed(self, start, stop, columns, self.n)

        def timed_products(self, start, stop):
            return timed(self, start, stop, products, self.n - start)

        def timed(self, start, stop, method, width):
            t = time.perf_counter()
            out = method(self, start, stop)
            blocks["seconds"] += time.perf_counter() - t
            blocks["flop"] += 2.0 * (stop - start) * width * self.x.shape[1]
            blocks["columns"] = blocks.get("columns", 0) + stop - start
            if (
                self.n > 50_000
                and blocks["columns"] * 20 // self.n
                > (blocks["columns"] - stop + start) * 20 // self.n
            ):
                print(
                    f"  {impl}: {blocks['columns']:,} of {self.n:,} columns of D after "
                    f"{time.perf_counter() - t0:.0f} s, "
                    f"products at {blocks['flop'] / blocks['seconds'] / 1e9:.0f} GFLOP/s, "
                    f"RSS {rss_mb():.0f} MB",
                    file=sys.stderr,
                    flush=True,
                )
            return out

        reranking_search._FeatureDistance.squared_columns_as_rows = timed_columns
        reranking_search._FeatureDistance.products = timed_products
    before = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    if impl == "ours":
        final = rerank(q_g, q_q, g_g).numpy()
    elif impl == "features":
        final = rerank_features(qf, gf).numpy()
    elif impl == "symmetric":
        final = rerank_features(qf, gf, symmetric=True).numpy()
    else:
        final = re_ranking(q_g.numpy(), q_q.numpy(), g_g.numpy())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if impl == "features":
        extra = {
            "block_s": blocks["seconds"],
            "block_gflops": blocks["flop"] / blocks["seconds"] / 1e9,
            "peak_gflops": matmul_peak(),
        }
    np.save(out, final)
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak, "inputs_mb": before, **extra}))


def run_child(
    case: str, impl: str, threads: int, tmp: Path, env: dict | None = None
) -> tuple[dict, np.ndarray]:
    out = tmp / f"{impl}.npy"
    cmd = [sys.executable, __file__, "--child", case, impl, str(out), "--threads", str(threads)]
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )  # the child's progress lines go to stderr
    if proc.returncode != 0:
        raise RuntimeError(
            f"{impl} on {case} failed (exit code {proc.returncode}; its error is printed above)"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1]), np.load(out)


def run_repeated(
    case: str, impl: str, args: argparse.Namespace, tmp: Path, env: dict | None = None
) -> tuple[dict, np.ndarray]:
    """``args.repeat`` runs of one child: the first run's numbers and output, with wall and cpu
    replaced by their medians and their ranges added."""
    runs = [run_child(case, impl, args.threads, tmp, env) for _ in range(args.repeat)]
    r, final = runs[0]
    for key in ("wall", "cpu"):
        values = sorted(x[key] for x, _ in runs)
        r[key], r[key + "_range"] = float(np.median(values)), (values[0], values[-1])
    r["peak_mb"] = max(x["peak_mb"] for x, _ in runs)
    return r, final


def timing_line(case: str, label: str, r: dict, runs: int) -> str:
    spread = (
        f" (median of {runs}, wall {r['wall_range'][0]:.1f}-{r['wall_range'][1]:.1f} s)"
        if runs > 1
        else ""
    )
    return (
        f"{case:<30} {label:<8} wall {r['wall']:7.1f} s  cpu {r['cpu']:7.1f} s{spread}  "
        f"peak RSS {r['peak_mb']:7.0f} MB  "
        f"(inputs {r['inputs_mb']:6.0f} MB, "
        f"beyond them {r['peak_mb'] - r['inputs_mb']:6.0f} MB)"
    )


def scores(case: str, dist: np.ndarray) -> np.ndarray:
    r = evaluate_rank(dist, *labels(case), protocol="sysu")
    return np.array([r["cmc"][0], r["mAP"], r["mINP"]])


def compare(case: str, name: str, a: tuple[dict, np.ndarray], b: tuple[dict, np.ndarray]) -> None:
    """Speed ratio (b's time / a's), the largest final-distance difference and metric difference."""
    (ra, da), (rb, db) = a, b
    diff = max(
        float(np.abs(da[s : s + 512].astype(np.float64) - db[s : s + 512]).max())
        for s in range(0, len(da), 512)
    )
    print(
        f"{case:<30} {name:<18} speed-up {rb['wall'] / ra['wall']:6.1f}x wall, "
        f"{rb['cpu'] / ra['cpu']:6.1f}x cpu;  "
        f"max |final diff| {diff:.1e};  "
        f"max |R1, mAP, mINP diff| {np.abs(scores(case, da) - scores(case, db)).max():.1e}",
        flush=True,
    )


def identity_report(runs: int, threads: int, tmp: Path) -> None:
    """The symmetric search in ``runs`` fresh processes against the block search in one."""
    case = "SYSU multi-shot 3803 x 3010"
    _, block = run_child(case, "features", threads, tmp)
    print(f"{case}: rerank_features, symmetric search against the block search (one process)")
    differ = 0
    for k in range(runs):
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        _, sym = run_child(case, "symmetric", threads, tmp)
        diff = float(np.abs(sym.astype(np.float64) - block).max())
        differ += diff > 1e-6
        print(f"  run {k + 1:3d}: max |final diff| {diff:.1e}  (load before: {load})", flush=True)
    print(f"{differ} of {runs} runs differ by more than 1e-6")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-dense", action="store_true", help="skip the dense original (~10-60 s at N~6,800)"
    )
    parser.add_argument(
        "--market-dense",
        action="store_true",
        help="also run the dense original at Market scale (~8 GB)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument(
        "--only", default="", help="run only the cases whose name contains this text"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per child (median, range)")
    parser.add_argument(
        "--tuned", action="store_true", help="also run ours with OMP_WAIT_POLICY=PASSIVE"
    )
    parser.add_argument(
        "--identity",
        type=int,
        default=0,
        metavar="N",
        help="only the symmetric search's identity check, N fresh processes",
    )
    parser.add_argument("--child", nargs=3, metavar=("CASE", "IMPL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:
        return child(*args.child)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads for ours "
        "(tsgan.threads: 1 for its own kernels), the original single-threaded numpy; "
        f"{os.cpu_count()} cpus, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'default')}; "
        "k1=20, k2=6, lambda=0.3; "
        "RSS in MB (inputs = RSS once the features or distance matrices exist)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.identity:
            return identity_report(args.identity, args.threads, Path(tmp))
        for case in (c for c in CASES if args.only in c):
            impls = [i for i in CASES[case][3] if i != "dense" or not args.skip_dense]
            if case.startswith("Market") and args.market_dense:
                impls.append("dense")
            res = {}
            for impl in impls:
                res[impl] = r, final = run_repeated(case, impl, args, Path(tmp))
                line = timing_line(case, impl, r, args.repeat)
                if impl == "features":
                    line += (
                        f";  distance blocks {r['block_s']:.1f} s "
                        f"at {r['block_gflops']:.0f} GFLOP/s "
                        f"(matmul peak here {r['peak_gflops']:.0f} GFLOP/s)"
                    )
                print(line, flush=True)
            if "dense" in res:
                compare(case, "ours vs original", res["ours"], res["dense"])
            if args.tuned and "ours" in res:
                passive = {"OMP_WAIT_POLICY": "PASSIVE"}
                res["tuned"] = r, _ = run_repeated(case, "ours", args, Path(tmp), passive)
                print(timing_line(case, "ours", r, args.repeat) + "  [OMP_WAIT_POLICY=PASSIVE]")
                if "dense" in res:
                    compare(case, "PASSIVE vs orig.", res["tuned"], res["dense"])
            if "features" in res and "ours" in res:
                compare(case, "features vs ours", res["features"], res["ours"])
            if "features" in res and "dense" in res:
                compare(case, "features vs orig.", res["features"], res["dense"])
            r1, m_ap, m_inp = scores(case, res[impls[0]][1])
            print(
                f"{case:<30} {impls[0]}: R1 {100 * r1:.2f}, "
                f"mAP {100 * m_ap:.2f}, mINP {100 * m_inp:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
