"""README's performance sentences quote the committed benchmark lines, so they cannot drift.

The headline runs are the last two blocks labelled ``### rerank run N`` in
``benchmarks/results/bench_rerank.txt`` and ``### eval run N`` in ``bench_eval.txt`` (quiet
machine, default settings, each a median of repeated runs with its range). The README must quote,
for both runs, the medians with their ranges and the wall-clock ratios with the CPU-time ratios
beside them, as the results lines print them. Appending newer headline runs to a results file
makes this test fail until the README quotes them.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

TIMING = re.compile(
    r"(?P<impl>ours|dense|features)\s+wall\s+(?P<wall>[\d.]+) s\s+cpu\s+[\d.]+ s "
    r"\(median of \d+, wall (?P<lo>[\d.]+)-(?P<hi>[\d.]+) s\)"
)
RATIO = re.compile(r"speed-up\s+(?P<wall>[\d.]+)x wall,\s+(?P<cpu>[\d.]+)x cpu")
METRICS = re.compile(
    r"metrics: ours\s+(?P<ours>[\d.]+) s \(cpu\s+[\d.]+ s; median of \d+, wall "
    r"(?P<ours_lo>[\d.]+)-(?P<ours_hi>[\d.]+) s\)\s+loop\s+(?P<loop>[\d.]+) s \(cpu\s+[\d.]+ s; "
    r"median of \d+, wall (?P<loop_lo>[\d.]+)-(?P<loop_hi>[\d.]+) s\)\s+speed-up\s+"
    r"(?P<wall>[\d.]+)x wall,\s+(?P<cpu>[\d.]+)x cpu"
)
MSMT17 = re.compile(
    r"MSMT17 scale \d+ x \d+\s+features\s+wall\s+(?P<wall>[\d.]+) s\s+cpu\s+(?P<cpu>[\d.]+) s\s+"
    r"peak RSS\s+(?P<rss>\d+) MB"
)


def headline_blocks(text: str, label: str) -> list[list[str]]:
    """The lines of the last two blocks that start with ``### <label> run``."""
    blocks, current = [], None
    for line in text.splitlines():
        if line.startswith("### ") or line.startswith("# ") or line.startswith("$ "):
            current = [] if line.startswith(f"### {label} run") else None
            if current is not None:
                blocks.append(current)
        elif current is not None:
            current.append(line)
    assert len(blocks) >= 2, f"fewer than two '### {label} run' blocks"
    return blocks[-2:]


def rerank_run(lines: list[str]) -> dict[str, str]:
    """Medians, ranges and ratios of one re-ranking run (default settings and PASSIVE)."""
    out = {}
    for line in lines:
        if not line.startswith("SYSU multi-shot"):
            continue
        t, r = TIMING.search(line), RATIO.search(line)
        if t and "[OMP_WAIT_POLICY=PASSIVE]" not in line and t["impl"] in ("ours", "dense"):
            out[t["impl"]] = f"{t['wall']} s ({t['lo']}-{t['hi']})"
        elif r and "ours vs original" in line:
            out["wall"], out["cpu"] = r["wall"], r["cpu"]
        elif r and "PASSIVE vs orig." in line:
            out["passive"] = r["wall"]
    assert set(out) == {"ours", "dense", "wall", "cpu", "passive"}, out
    return out


def eval_run(lines: list[str]) -> dict[str, str]:
    """Medians, ranges and ratios of one multi-shot metrics run."""
    found = [m for m in map(METRICS.search, lines) if m]
    assert len(found) == 1, lines
    m = found[0]
    return {
        "ours": f"{m['ours']} s ({m['ours_lo']}-{m['ours_hi']})",
        "loop": f"{m['loop']} s ({m['loop_lo']}-{m['loop_hi']})",
        "wall": m["wall"],
        "cpu": m["cpu"],
    }


def msmt17_run(lines: list[str]) -> dict[str, str]:
    """Wall, CPU time and peak RSS of one MSMT17-size run of re-ranking from features."""
    found = [m for m in map(MSMT17.search, lines) if m]
    assert len(found) == 1, lines
    return {k: found[0][k] for k in ("wall", "cpu", "rss")}


def expected_fragments(rerank_text: str, eval_text: str) -> list[str]:
    """What the README must say, from the results files' text."""
    a, b = (rerank_run(x) for x in headline_blocks(rerank_text, "rerank"))
    c, d = (eval_run(x) for x in headline_blocks(eval_text, "eval"))
    e, f = (msmt17_run(x) for x in headline_blocks(rerank_text, "msmt17"))
    return [
        f"took {e['wall']} s and {f['wall']} s ({e['cpu']} s and {f['cpu']} s CPU time) at peaks "
        f"of {int(e['rss']):,} MB and {int(f['rss']):,} MB",
        f"takes {a['ours']} and {b['ours']} against {a['dense']} and {b['dense']}",
        f"{a['wall']}x and {b['wall']}x wall-clock, {a['cpu']}x and {b['cpu']}x CPU time",
        f"({a['passive']}x and {b['passive']}x wall-clock with `OMP_WAIT_POLICY=PASSIVE`)",
        f"take {c['ours']} and {d['ours']} against {c['loop']} and {d['loop']}",
        f"{c['wall']}x and {d['wall']}x wall-clock, {c['cpu']}x and {d['cpu']}x CPU time",
    ]


def readme_text() -> str:
    return " ".join((ROOT / "README.md").read_text().split())  # line breaks as spaces


def test_readme_quotes_the_headline_benchmark_lines():
    rerank_text = (RESULTS / "bench_rerank.txt").read_text()
    eval_text = (RESULTS / "bench_eval.txt").read_text()
    readme = readme_text()
    missing = [f for f in expected_fragments(rerank_text, eval_text) if f not in readme]
    assert not missing, "README does not quote the results lines:\n" + "\n".join(missing)


def test_a_changed_results_line_is_noticed():
    # mutation: a newer headline run appended to the results file, with other numbers
    rerank_text = (RESULTS / "bench_rerank.txt").read_text()
    eval_text = (RESULTS / "bench_eval.txt").read_text()
    last = rerank_text[rerank_text.rindex("### rerank run") :].split("\n# ", 1)[0]
    newer = last.replace("28.3x wall", "29.3x wall").replace("25.5x wall", "26.5x wall")
    assert newer != last
    readme = readme_text()
    fragments = expected_fragments(rerank_text + "\n" + newer, eval_text)
    assert any(f not in readme for f in fragments)


def test_a_changed_msmt17_line_is_noticed():
    # mutation: a newer MSMT17 headline run with another wall time
    rerank_text = (RESULTS / "bench_rerank.txt").read_text()
    eval_text = (RESULTS / "bench_eval.txt").read_text()
    last = rerank_text[rerank_text.rindex("### msmt17 run") :].split("\n# ", 1)[0]
    wall = MSMT17.search(last)["wall"]
    newer = last.replace(f"wall {wall:>7} s", f"wall {float(wall) + 1:7.1f} s")
    assert newer != last
    fragments = expected_fragments(rerank_text + "\n" + newer, eval_text)
    assert any(f not in readme_text() for f in fragments)
