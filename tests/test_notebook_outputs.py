"""Stored notebook outputs: little stderr, no warnings, every output-bearing cell marked for nbval,
every number tagged as computed in markdown equal to what a cell printed (docs/TEACHING.md)."""

from pathlib import Path

import nbformat
import pytest
from notebook_checks import (
    STDERR_LIMIT,
    computed_mismatches,
    long_training_logs,
    machine_noise,
    stderr_chars,
    unmarked_cells,
    warning_cells,
)

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
ids = [p.stem[:2] for p in NOTEBOOKS]


def notebook(*cells) -> nbformat.NotebookNode:
    """A small in-memory notebook: ("md", text) or (source, [outputs]) per cell."""
    nb = nbformat.v4.new_notebook()
    for source, outputs in cells:
        if source == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(outputs))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source, outputs=outputs))
    return nb


def stream(name, text):
    return nbformat.v4.new_output("stream", name=name, text=text)


# ---- the stored notebooks ------------------------------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_stored_stderr_is_short_and_warning_free(path):
    nb = nbformat.read(path, as_version=4)
    assert stderr_chars(nb) <= STDERR_LIMIT, f"{path.name}: {stderr_chars(nb)} stderr characters"
    assert warning_cells(nb) == [], f"{path.name}: warnings in stored outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_cell_with_output_is_marked_for_nbval(path):
    assert unmarked_cells(nbformat.read(path, as_version=4)) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_numbers_tagged_as_computed_match_the_printed_values(path):
    assert computed_mismatches(nbformat.read(path, as_version=4)) == []


# ---- the checks themselves, on small notebooks ---------------------------------------------------
def test_a_progress_bar_in_stderr_and_a_warning_are_caught():
    redraws = [stream("stderr", f"\rteacher 1/10: {i:3d}%|####  | {i}/100") for i in range(100)]
    warned = stream("stderr", "tqdm/auto.py:21: TqdmWarning: IProgress not found.\n")
    nb = notebook(
        ("train()", redraws), ("import x", [warned]), ("print(1)", [stream("stdout", "1")])
    )
    assert stderr_chars(nb) > STDERR_LIMIT
    assert warning_cells(nb) == [(1, "tqdm/auto.py:21: TqdmWarning: IProgress not found.")]
    quiet = notebook(("train()", [stream("stdout", "teacher 1/10: 20 steps, mean id 5.01\n")]))
    assert stderr_chars(quiet) == 0 and warning_cells(quiet) == []
    user = notebook(("f()", [stream("stderr", "x.py:3: UserWarning: careful\n  warn(msg)\n")]))
    assert warning_cells(user) == [(0, "x.py:3: UserWarning: careful")]


def test_unmarked_output_and_unmarked_training_are_caught():
    out = [stream("stdout", "0.5\n")]
    nb = notebook(
        ("# NBVAL_CHECK_OUTPUT\nprint(0.5)", out),
        ("# NBVAL_IGNORE_OUTPUT\nplot()", out),
        ("print(0.5)", out),  # output, no marker
        ("def f():\n    return 1", []),  # no output: fine
        ("ckpt = get_or_train_teacher(cfg)", []),  # trains: output only on a cold cache
        ("# NBVAL_CHECK_OUTPUT\nrun_ablation(base, ROWS, SEEDS)", []),  # trains, checked
        ("x = 1  # NBVAL_IGNORE_OUTPUT", out),  # the marker belongs on the first line
    )
    assert [i for i, _ in unmarked_cells(nb)] == [2, 4, 5, 6]


def test_tagged_numbers_are_compared_with_printed_values():
    printed = [stream("stdout", "table\npixel_R1[IR->RGB] = 0.0614   chance_R1[IR->RGB] = 0.020\n")]
    good = (
        "R1 **0.061**<!-- computed: pixel_R1[IR->RGB] --> against chance "
        "0.020<!-- computed: chance_R1[IR->RGB] -->"
    )
    assert computed_mismatches(notebook(("print(...)", printed), ("md", good))) == []
    wrong = "R1 **0.071** <!-- computed: pixel_R1[IR->RGB] -->"
    assert "says 0.071" in computed_mismatches(notebook(("p", printed), ("md", wrong)))[0]
    too_precise = "R1 0.0613 <!-- computed: pixel_R1[IR->RGB] -->"  # 4 decimals: no rounding room
    assert computed_mismatches(notebook(("p", printed), ("md", too_precise)))
    missing = "R1 0.06 <!-- computed: pixel_R1[RGB->RGB] -->"
    assert "no cell printed" in computed_mismatches(notebook(("p", printed), ("md", missing)))[0]
    percent = [stream("stdout", "teacher_R1 = 25.2\n")]
    assert (
        computed_mismatches(
            notebook(("p", percent), ("md", "R1 **25.2 %**<!-- computed: teacher_R1 -->"))
        )
        == []
    )
    # a longer key that ends like a shorter one is not a print of the shorter one
    other = [stream("stdout", "ir_teacher_R1 = 3.0\n")]
    assert (
        "no cell printed"
        in computed_mismatches(notebook(("p", other), ("md", "1.0<!-- computed: teacher_R1 -->")))[
            0
        ]
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_stored_outputs_hold_no_machine_paths_process_words_or_training_logs(path):
    nb = nbformat.read(path, as_version=4)
    assert machine_noise(nb) == [], f"{path.name}: machine-specific output"
    assert long_training_logs(nb) == [], f"{path.name}: a training log longer than a summary line"


def test_machine_noise_and_training_logs_are_found():
    nb = notebook(
        ("print(root)", [stream("stdout", "synthetic @ /home/ana/tsgan/data/synthetic_sysu\n")]),
        ("x", [stream("stdout", "data @ data/synthetic_sysu (relative: fine)\n")]),
        ("y", [stream("stderr", "$ bench --only MSMT17   # helpers paused (SIGSTOP)\n")]),
        ("z", [stream("stdout", "C:\\Users\\ana\\runs\n")]),
        ("t", [stream("stdout", "teacher 1/75: 20 steps\nteacher 2/75: 20 steps\nrgb 75/75: 2\n")]),
        ("u", [stream("stdout", "teacher 75/75: 20 steps, mean id 0.96\n")]),
    )
    assert [k for k, _ in machine_noise(nb)] == [0, 2, 2, 3]
    assert long_training_logs(nb) == [(4, "teacher", 2)]
