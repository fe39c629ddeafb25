"""tools/sync_computed_numbers.py on small in-memory notebooks: tagged numbers take the printed
value at their own precision, untagged text stays, a tag nobody printed is a one-line error."""

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

from sync_computed_numbers import formatted, main, sync  # noqa: E402


def notebook(printed: str, *markdown: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    out = nbformat.v4.new_output("stream", name="stdout", text=printed)
    nb.cells.append(nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nprint(...)", outputs=[out]))
    nb.cells += [nbformat.v4.new_markdown_cell(m) for m in markdown]
    return nb


PRINTED = "R1 = 31.456   mAP = 0.0712\ngap_R1 = -6.96  n_queries = 2310\nsame = 0.488\n"


def test_tagged_numbers_take_the_printed_value_at_their_own_precision():
    nb = notebook(
        PRINTED,
        "R1 **25.2 %**<!-- computed: R1 --> and mAP 0.07<!-- computed: mAP -->.",
        "a gap of +3.31<!-- computed: gap_R1 --> over 2,208<!-- computed: n_queries --> queries",
    )
    changes, errors = sync(nb)
    assert errors == []
    assert nb.cells[1].source == (
        "R1 **31.5 %**<!-- computed: R1 --> and mAP 0.07<!-- computed: mAP -->."
    )
    assert nb.cells[2].source == (
        "a gap of -6.96<!-- computed: gap_R1 --> over 2,310<!-- computed: n_queries --> queries"
    )
    # mAP 0.07 already says 0.0712 at two decimals: not a change
    assert changes == [
        (1, "R1", "25.2", "31.5"),
        (2, "gap_R1", "+3.31", "-6.96"),
        (2, "n_queries", "2,208", "2,310"),
    ]


def test_untagged_numbers_and_other_cells_stay():
    md = "0.7 untagged, then 0.70<!-- computed: same --> and 0.7 again"
    nb = notebook(PRINTED, md, "no tags: 25.2 and 0.07")
    changes, _ = sync(nb)
    assert nb.cells[1].source == "0.7 untagged, then 0.49<!-- computed: same --> and 0.7 again"
    assert nb.cells[2].source == "no tags: 25.2 and 0.07"
    assert nb.cells[0].source == "# NBVAL_IGNORE_OUTPUT\nprint(...)"
    assert [c[1:] for c in changes] == [("same", "0.70", "0.49")]


def test_formatted_keeps_sign_separators_and_decimals():
    assert formatted(3.3149, "+1.00") == "+3.31"
    assert formatted(-0.04, "0.0") == "0.0"  # no "-0.0"
    assert formatted(12345.6, "1,000") == "12,346"
    assert formatted(0.25, "1") == "0"  # rounds like the f-strings that print the values


def test_a_tag_nobody_printed_is_a_one_line_error_and_nothing_changes():
    md = "R1 25.2<!-- computed: R1 --> and R10 70.0<!-- computed: R10 -->"
    nb = notebook(PRINTED, md)
    changes, errors = sync(nb)
    assert len(errors) == 1 and "\n" not in errors[0]
    assert "'R10'" in errors[0] and "no cell printed" in errors[0] and "'R10 = '" in errors[0]
    assert nb.cells[1].source == md  # not half-synced
    # a longer key ending like the tag is not its print; two different prints are an error too
    assert sync(notebook("ir_R1 = 3.0\n", "1.0<!-- computed: R1 -->"))[1]
    twice = notebook("k = 1.0\nk = 2.0\n", "1<!-- computed: k -->")
    assert "printed as 1.0, 2.0" in sync(twice)[1][0]


def test_the_command_writes_or_checks(tmp_path, capsys):
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook(PRINTED, "R1 25.2<!-- computed: R1 -->"), path)
    assert main(["--check", str(path)]) == 1
    assert "R1 25.2 -> 31.5" in capsys.readouterr().out
    assert "25.2<!--" in nbformat.read(path, as_version=4).cells[1].source  # --check writes nothing
    assert main([str(path)]) == 0
    assert nbformat.read(path, as_version=4).cells[1].source == "R1 31.5<!-- computed: R1 -->"
    assert main(["--check", str(path)]) == 0
    nbformat.write(notebook(PRINTED, "x 1.0<!-- computed: missing -->"), path)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'missing'" in err
