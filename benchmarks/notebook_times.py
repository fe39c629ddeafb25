"""Wall time of every notebook, cold and warm, written into the README (``make notebook-times``).

Usage, from the repository root: ``python benchmarks/notebook_times.py [NOTEBOOK ...]``
(default: every ``notebooks/*.ipynb``). Each notebook is executed twice with nbclient, from its
own folder, outputs discarded (the notebook files are not modified):

* **cold**: with ``TSGAN_RUNS`` pointing at a fresh, empty folder, as in a fresh clone (every
  training the notebook needs happens; the embedded data under ``data/`` is reused: generating it
  is timed by ``benchmarks/bench_data.py``);
* **warm**: a second run with the same folder, so every cached run is loaded, not trained.

The table between ``<!-- notebook-times:start -->`` and ``<!-- notebook-times:end -->`` in
README.md is replaced (the markers are added at the end of the file when missing); rows for
notebooks not run this time are kept. Budget (issue: the course's time): warm <= 2 min, cold <=
12 min per notebook on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- notebook-times:start -->", "<!-- notebook-times:end -->"
HEADER = "| notebook | cold (s) | warm (s) |\n|---|---:|---:|"
ROW = re.compile(r"^\| `([^`]+)` \| ([^|]*) \| ([^|]*) \|$")


def execute(path: Path, runs: Path, timeout: int) -> float:
    """Seconds to execute ``path`` top to bottom with ``TSGAN_RUNS=runs`` (outputs discarded)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    old = os.environ.get("TSGAN_RUNS")
    os.environ["TSGAN_RUNS"] = str(runs)  # the kernel inherits the environment
    try:
        start = time.perf_counter()
        nbclient.NotebookClient(
            nb,
            timeout=timeout,
            startup_timeout=600,  # a busy machine can take minutes to start a kernel
            kernel_name="python3",
            resources={"metadata": {"path": path.parent}},
        ).execute()
        return time.perf_counter() - start
    finally:
        if old is None:
            os.environ.pop("TSGAN_RUNS", None)
        else:
            os.environ["TSGAN_RUNS"] = old


def parse_table(text: str) -> dict[str, tuple[str, str]]:
    """The rows between the markers of ``text``: notebook -> (cold, warm) as written."""
    if START not in text or END not in text:
        return {}
    block = text.split(START, 1)[1].split(END, 1)[0]
    return {m[1]: (m[2].strip(), m[3].strip()) for m in map(ROW.match, block.splitlines()) if m}


def render_table(rows: dict[str, tuple[str, str]], note: str) -> str:
    """The README block (markers included) for ``rows``, sorted by notebook name."""
    lines = [START, HEADER]
    lines += [f"| `{name}` | {cold} | {warm} |" for name, (cold, warm) in sorted(rows.items())]
    return "\n".join([*lines, "", note, END])


def update_readme(text: str, times: dict[str, tuple[float, float]], note: str) -> str:
    """``text`` with the notebook-times block replaced (added at the end when missing): rows of
    ``times`` (seconds) replace those of the same notebooks, other rows are kept."""
    rows = parse_table(text)
    rows.update({name: (f"{cold:.0f}", f"{warm:.0f}") for name, (cold, warm) in times.items()})
    block = render_table(rows, note)
    if START in text and END in text:
        head, rest = text.split(START, 1)
        return head + block + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def junit_times(path: Path) -> dict[str, float]:
    """Seconds per notebook in a pytest ``--junitxml`` report of an nbval run: the sum of the
    notebook's cell test cases (``file`` or ``classname`` naming ``notebooks/<stem>.ipynb``)."""
    import xml.etree.ElementTree as ET

    out: dict[str, float] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        where = case.get("file") or case.get("classname") or ""
        m = re.search(r"notebooks[/.]([\w-]+)\.ipynb", where)
        if m:
            out[m[1]] = out.get(m[1], 0.0) + float(case.get("time", 0))
    if not out:
        raise ValueError(
            f"{path} holds no notebook test cases: pass the --junitxml report of "
            "`pytest --nbval ... notebooks`"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument(
        "--cold-from-junit",
        type=Path,
        metavar="XML",
        help="take the cold times from this pytest --junitxml report of a fresh clone's "
        "`make test` (notebooks run in order, sharing one empty run cache) and measure only the "
        "warm times, with the run cache of this checkout (runs/ or $TSGAN_RUNS)",
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    times = {}
    if args.cold_from_junit:
        cold_times = junit_times(args.cold_from_junit)
        runs = Path(os.environ.get("TSGAN_RUNS", ROOT / "runs"))
        for path in paths:
            if path.stem not in cold_times:
                raise ValueError(f"{args.cold_from_junit} has no cells of {path.name}")
            warm = execute(path.resolve(), runs, args.timeout)
            times[path.stem] = (cold_times[path.stem], warm)
            print(f"{path.stem}: cold {cold_times[path.stem]:.0f} s, warm {warm:.0f} s", flush=True)
        note = (
            f"Cold: the notebook's cells in `make test` from a fresh clone (`pytest --junitxml`, "
            "notebooks in order, one empty run cache); warm: `python benchmarks/notebook_times.py "
            f"--cold-from-junit` with the cache filled, on {platform.machine()}, "
            f"{os.cpu_count()} CPUs, python {platform.python_version()}."
        )
        args.readme.write_text(update_readme(args.readme.read_text(), times, note))
        print(f"updated {args.readme}")
        return 0
    with tempfile.TemporaryDirectory(prefix="tsgan-runs-") as runs:
        for path in paths:
            fresh = Path(runs) / path.stem
            fresh.mkdir()
            cold = execute(path.resolve(), fresh, args.timeout)
            warm = execute(path.resolve(), fresh, args.timeout)
            times[path.stem] = (cold, warm)
            print(f"{path.stem}: cold {cold:.0f} s, warm {warm:.0f} s", flush=True)
    note = (
        f"Measured by `python benchmarks/notebook_times.py` on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, python {platform.python_version()}; cold: empty run cache "
        "(TSGAN_RUNS), warm: the second run."
    )
    args.readme.write_text(update_readme(args.readme.read_text(), times, note))
    print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
