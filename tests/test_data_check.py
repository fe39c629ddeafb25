"""``python -m tsgan data check``: layout and counts against the published structure."""

import shutil

import pytest
from fakes import make_llcm_tree, make_sysu_tree

from tsgan.__main__ import main
from tsgan.data.check import check_dataset, first_problem, require_valid
from tsgan.data.records import DatasetError


def _rows(dataset, root):
    return {r.item: r for r in check_dataset(dataset, root)}


@pytest.fixture(scope="module")
def sysu(synthetic_sysu):
    return synthetic_sysu


@pytest.fixture(scope="module")
def regdb(synthetic_regdb):
    return synthetic_regdb


def _copy(tree, tmp_path):
    return shutil.copytree(tree, tmp_path / tree.name)


def test_embedded_sysu_is_complete_against_its_own_counts(sysu, capsys):
    rows = _rows("sysu", sysu)
    assert {r.status for r in rows.values()} == {"ok"}
    assert rows["ids"].found == "12" and rows["ids"].expected == "12 (embedded; published 491)"
    assert rows["test ids"].expected == "3 (embedded; published 96)"
    assert main(["data", "check", "--dataset", "sysu", "--root", str(sysu)]) == 0
    out = capsys.readouterr().out
    assert "cam3/ (IR)" in out and out.rstrip().endswith("readable")


def test_missing_camera_and_missing_id_file_are_named_with_a_fix(sysu, tmp_path, capsys):
    root = _copy(sysu, tmp_path)
    shutil.rmtree(root / "cam3")
    (root / "exp" / "val_id.txt").unlink()
    rows = _rows("sysu", root)
    assert rows["cam3/ (IR)"].status == "missing" and "cam1..cam6" in rows["cam3/ (IR)"].fix
    assert rows["exp/val_id.txt"].status == "missing" and "SYSU-MM01" in rows["exp/val_id.txt"].fix
    assert rows["cam6/ (IR)"].status == "ok"
    assert first_problem(list(rows.values())).item == "cam3/ (IR)"
    assert main(["data", "check", "--dataset", "sysu", "--root", str(root)]) == 1
    assert "2 missing/invalid row(s)" in capsys.readouterr().out
    with pytest.raises(DatasetError, match=r"cam3/ \(IR\) missing .*python -m tsgan data check"):
        require_valid("sysu", root)


def test_a_lost_image_of_the_embedded_tree_is_a_count_warning(sysu, tmp_path):
    root = _copy(sysu, tmp_path)
    next((root / "cam6").rglob("*.jpg")).unlink()
    rows = _rows("sysu", root)
    ir = [rows["train+val IR images"], rows["test IR queries"]]
    assert [r.status for r in ir].count("warning") == 1  # the image was train+val or test
    assert first_problem(list(rows.values())) is None
    require_valid("sysu", root)  # counts never stop training


def test_published_counts_are_warnings_and_stray_entries_unexpected(tmp_path):
    root = make_sysu_tree(tmp_path / "SYSU", [1, 2], [3], [4], images_per_cam=1)
    make_sysu_tree(tmp_path / "SYSU" / "SYSU-MM01", [1], [2], [3], images_per_cam=1)
    (root / "notes.txt").write_text("x")
    rows = _rows("sysu", root)
    assert rows["train ids"].status == "warning" and rows["train ids"].expected == "296 (published)"
    assert rows["test IR queries"].found == "2" and rows["test IR queries"].expected.startswith(
        "3,803"
    )
    assert rows["SYSU-MM01"].status == "unexpected" and rows["SYSU-MM01"].fix.startswith(
        "use --root"
    )
    assert rows["notes.txt"].status == "unexpected"
    assert first_problem(list(rows.values())) is None


def test_training_stops_with_the_check_message(sysu, tmp_path, capsys):
    root = _copy(sysu, tmp_path)
    shutil.rmtree(root / "cam5")
    argv = [
        "train-teacher",
        "--preset",
        "cpu",
        "data.dataset=sysu",
        f"data.root={root}",
        f"train.out_dir={tmp_path / 'runs'}",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cam5/ (RGB) missing" in err and "data check" in err
    assert not (tmp_path / "runs").exists()  # stopped before writing a run folder


def test_regdb_trials_lists_and_alignment(regdb, tmp_path):
    rows = _rows("regdb", regdb)
    assert {r.status for r in rows.values()} == {"ok"}
    assert rows["trials"].expected == "2 (embedded; published 10)"
    root = _copy(regdb, tmp_path)
    (root / "idx" / "test_thermal_2.txt").unlink()
    lines = (root / "idx" / "train_visible_1.txt").read_text().splitlines()
    (root / "idx" / "train_visible_1.txt").write_text("\n".join(lines[:-1]) + "\n")
    rows = _rows("regdb", root)
    assert (
        rows["trial 1 lists"].status == "invalid" and "line-aligned" in rows["trial 1 lists"].found
    )
    assert (
        rows["trial 2 lists"].status == "missing"
        and "test_thermal_2" in rows["trial 2 lists"].found
    )
    assert rows["trials"].status == "warning" and rows["trials"].found == "0"


def test_llcm_tree_built_by_hand(tmp_path):
    root = make_llcm_tree(tmp_path / "LLCM", train_ids=[1, 2, 3], test_ids=[7, 8])
    rows = _rows("llcm", root)
    assert (
        rows["idx/train_vis.txt"].status == "ok" and rows["idx/train_vis.txt"].found == "12 images"
    )
    assert rows["test_nir/"].found == "2 cameras, 8 images"
    assert rows["train ids"].status == "warning" and rows["train ids"].expected == "713 (published)"
    assert first_problem(list(rows.values())) is None

    shutil.rmtree(root / "test_nir")
    (root / "idx" / "test_id.txt").write_text("2,7,8\n")
    rows = _rows("llcm", root)
    assert rows["test_nir/"].status == "missing"
    assert rows["train / test ids"].status == "invalid" and "[2]" in rows["train / test ids"].found
    next((root / "vis").rglob("*.jpg")).unlink()
    assert _rows("llcm", root)["idx/train_vis.txt"].status == "invalid"


def test_missing_root(tmp_path, capsys):
    assert main(["data", "check", "--dataset", "regdb", "--root", str(tmp_path / "none")]) == 1
    assert "Dongguk University" in capsys.readouterr().out


def test_decode_names_a_corrupt_and_a_truncated_image(sysu, tmp_path, capsys):
    root = _copy(sysu, tmp_path)
    images = sorted((root / "cam1").rglob("*.jpg"))
    images[0].write_bytes(b"not a jpeg at all")
    whole = images[1].read_bytes()
    images[1].write_bytes(whole[: len(whole) // 2])  # a copy cut short
    argv = ["data", "check", "--dataset", "sysu", "--root", str(root)]
    assert main(argv) == 0  # the layout alone is sound: only decoding finds them
    capsys.readouterr()
    assert main([*argv, "--decode"]) == 1
    out = capsys.readouterr().out
    bad = {r.item: r for r in check_dataset("sysu", root, decode=True) if r.status == "invalid"}
    names = {str(p.relative_to(root)) for p in images[:2]}
    assert set(bad) == names and all(name in out for name in names)
    assert "truncated" in bad[str(images[1].relative_to(root))].found.lower()
    assert "2 missing/invalid row(s)" in out
    with pytest.raises(DatasetError, match=str(images[0].relative_to(root))):
        require_valid("sysu", root)  # training's check decodes too
    require_valid("sysu", root, decode=False)  # evaluate's: the layout only


def test_decode_counts_every_image_of_a_sound_tree(sysu):
    rows = {r.item: r for r in check_dataset("sysu", sysu, decode=True)}
    n = sum(1 for p in sysu.rglob("*.jpg") if p.parts[len(sysu.parts)].startswith("cam"))
    assert rows["images decode"].found == f"{n:,} of {n:,}" and rows["images decode"].status == "ok"
