"""How often a fresh bfloat16 convolution under CPU autocast gives non-finite outputs on finite
inputs, with oneDNN's full instruction set and with the cap ``tsgan`` sets
(``ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16``, see ``tsgan/__init__.py``).

Each setting runs in its own process (oneDNN reads the cap once, at its first primitive)::

    python benchmarks/bench_amx_bf16.py --trials 40

On a CPU with AMX and torch 2.14.1 the uncapped run shows a few non-finite outputs per 40 trials
and the capped run none; on a CPU without AMX both show none.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = """
import sys, torch
torch.manual_seed(0)
bad = 0
for _ in range(int(sys.argv[1])):
    conv = torch.nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False)
    x = torch.randn(8, 64, 4, 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bad += not bool(torch.isfinite(conv(x)).all())
print(bad)
"""


def count(trials: int, isa: str | None) -> int:
    """Non-finite outputs in ``trials`` fresh convolutions, in a child process with ``isa``."""
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    if isa:
        env["ONEDNN_MAX_CPU_ISA"] = isa
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(trials)], env=env, capture_output=True, text=True
    )
    out.check_returncode()
    return int(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="fresh convolutions per setting")
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}; {args.trials} fresh bf16 Conv2d(64, 128, 3, stride 2) calls")
    for label, isa in (("oneDNN default", None), ("tsgan's cap", "AVX512_CORE_BF16")):
        print(f"{label:>15}: {count(args.trials, isa)} non-finite outputs")


if __name__ == "__main__":
    main()
