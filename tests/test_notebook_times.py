"""benchmarks/notebook_times.py: the README table it writes (the timing itself is not tested)."""

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location(
    "notebook_times", Path(__file__).resolve().parents[1] / "benchmarks" / "notebook_times.py"
)
nt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nt)


def test_table_is_added_then_updated_row_by_row():
    readme = "# Title\n\nSome text.\n"
    once = nt.update_readme(readme, {"02_b": (612.4, 95.6), "01_a": (30.2, 20.0)}, "first run")
    assert once.startswith(readme.rstrip("\n"))
    assert nt.parse_table(once) == {"01_a": ("30", "20"), "02_b": ("612", "96")}
    rows = [ln for ln in once.splitlines() if ln.startswith("| `")]
    assert rows == ["| `01_a` | 30 | 20 |", "| `02_b` | 612 | 96 |"]  # sorted by notebook
    again = nt.update_readme(once + "\n## After\n", {"02_b": (100.0, 10.0)}, "second run")
    assert nt.parse_table(again) == {"01_a": ("30", "20"), "02_b": ("100", "10")}
    assert again.count(nt.START) == 1 and "first run" not in again and "second run" in again
    assert again.rstrip().endswith("## After")  # text after the block is kept


def test_cold_times_from_a_junit_report(tmp_path):
    """The cold column read from `make test`'s junit XML: the cells of each notebook summed."""
    xml = tmp_path / "ci.xml"
    xml.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="notebooks.01_data_exploration.ipynb" name="Cell 0" time="1.5"/>'
        '<testcase classname="notebooks.01_data_exploration.ipynb" name="Cell 3" time="2.0"/>'
        '<testcase file="notebooks/02_teacher_pretraining.ipynb" name="Cell 1" time="40"/>'
        '<testcase classname="tests.test_config" name="test_paper" time="9"/>'
        "</testsuite></testsuites>"
    )
    assert nt.junit_times(xml) == {"01_data_exploration": 3.5, "02_teacher_pretraining": 40.0}
    only_tests = tmp_path / "unit.xml"
    only_tests.write_text(
        '<testsuite><testcase classname="tests.x" name="t" time="1"/></testsuite>'
    )
    with pytest.raises(ValueError, match="no notebook test cases"):
        nt.junit_times(only_tests)
