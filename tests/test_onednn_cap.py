"""``import tsgan`` caps oneDNN below AMX (its bfloat16 convolutions give non-finite outputs now and
then with the pinned torch; see ``tsgan/__init__.py``), unless the user chose a cap."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = "import os, tsgan; print(os.environ.get('ONEDNN_MAX_CPU_ISA'))"


def _cap_after_import(user_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    env["PYTHONPATH"] = str(ROOT)
    if user_value is not None:
        env["ONEDNN_MAX_CPU_ISA"] = user_value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_caps_onednn_below_amx():
    assert _cap_after_import(None) == "AVX512_CORE_BF16"


def test_a_users_cap_wins():
    assert _cap_after_import("AVX2") == "AVX2"
