"""TS-GAN: Teacher-Student GAN for RGB-infrared cross-modality person re-identification."""

import os

__version__ = "0.1.0"

# oneDNN's AMX bfloat16 convolutions in the pinned torch (2.14.1) now and then give non-finite
# outputs on finite inputs (2 of 100 fresh Conv2d calls under CPU autocast on an AMX machine, none
# with AMX off: benchmarks/bench_amx_bf16.py). The cap keeps oneDNN to its AVX-512 BF16 kernels.
# oneDNN reads it at its first primitive, not at torch's import, so it is set here, before any
# network runs; a user's own setting wins. Without AMX it changes nothing, and float32 never uses
# AMX (AMX computes bfloat16 and int8 only).
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
