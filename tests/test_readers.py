"""Readers of SYSU-MM01, RegDB and LLCM on tiny trees in the real layouts, including malformed
ones."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fakes import make_llcm_tree, make_regdb_tree, make_sysu_tree, regdb_split

from tsgan.data import DatasetError, get_dataset, read_llcm, read_regdb, read_sysu

# --------------------------------------------------------------------------- SYSU-MM01


def test_sysu_counts_cameras_and_missing_folders(tmp_path: Path) -> None:
    root = make_sysu_tree(
        tmp_path, [1, 3], [5], [7, 8], images_per_cam=2, missing={(1, 3), (8, 6), (8, 2)}
    )
    ds = read_sysu(root)
    assert ds.train_ids == [1, 3, 5] and ds.val_ids == [5] and ds.test_ids == [7, 8]
    # 3 training ids x 6 cams x 2 images, minus the (1, cam3) folder
    assert len(ds.train) == 3 * 6 * 2 - 2
    assert len(ds.test) == 2 * 6 * 2 - 2 * 2
    per_cam = Counter((s.pid, s.cam) for s in ds.train + ds.test)
    assert (1, 3) not in per_cam and (8, 6) not in per_cam and per_cam[(7, 6)] == 2
    assert {s.modality for s in ds.train if s.cam in (3, 6)} == {"ir"}
    assert {s.modality for s in ds.train if s.cam not in (3, 6)} == {"rgb"}
    assert ds.pid2label == {1: 0, 3: 1, 5: 2}
    assert all(Path(s.path).is_file() for s in ds.train + ds.test)


def test_sysu_missing_root_says_where_data_comes_from(tmp_path: Path) -> None:
    with pytest.raises(
        DatasetError, match=r"(?s)expected the SYSU-MM01 root.*found nothing.*data/README.md"
    ):
        read_sysu(tmp_path / "nope")


def test_sysu_wrong_layout_names_missing_folders(tmp_path: Path) -> None:
    root = make_sysu_tree(tmp_path, [1], [2], [3])
    (root / "cam3").rename(root / "camera3")
    with pytest.raises(DatasetError, match=r"missing \['cam3'\].*found \['cam1'"):
        read_sysu(root)


def test_sysu_overlapping_and_malformed_split_files(tmp_path: Path) -> None:
    root = make_sysu_tree(tmp_path, [1, 2], [3], [2, 4])
    with pytest.raises(DatasetError, match=r"identities \[2\] are listed both"):
        read_sysu(root)
    (root / "exp" / "test_id.txt").write_text("4;5")
    with pytest.raises(DatasetError, match="comma-separated integer ids"):
        read_sysu(root)


# --------------------------------------------------------------------------- RegDB


def test_regdb_trial_split_and_identities(tmp_path: Path) -> None:
    ids = [10, 11, 12, 13, 14, 15]
    root = make_regdb_tree(tmp_path, ids, images_per_id=3, trials=(1, 2))
    for trial in (1, 2):
        ds = read_regdb(root, trial=trial)
        train_ids, test_ids = regdb_split(ids, trial)
        assert (
            ds.train_ids == train_ids and ds.test_ids == test_ids and ds.extra == {"trial": trial}
        )
        assert Counter(s.modality for s in ds.train) == {"rgb": 9, "ir": 9}
        assert {(s.modality, s.cam) for s in ds.train + ds.test} == {("rgb", 1), ("ir", 2)}
        # pid is the folder number, not the 0-based label of the idx file
        assert all(Path(s.path).parent.name == str(s.pid) for s in ds.train + ds.test)
        assert all(("Visible" in s.path) == (s.modality == "rgb") for s in ds.train + ds.test)
    assert read_regdb(root, 1).train_ids != read_regdb(root, 2).train_ids
    assert get_dataset("regdb", root, trial=2).train_ids == regdb_split(ids, 2)[0]


def test_regdb_label_fallback_keeps_splits_disjoint(tmp_path: Path) -> None:
    root = make_regdb_tree(tmp_path, [1, 2, 3, 4])
    for side in ("Visible", "Thermal"):
        for pid in (1, 2, 3, 4):
            (root / side / str(pid)).rename(root / side / f"p{pid}")
    for f in (root / "idx").iterdir():
        text = f.read_text()
        for pid in (1, 2, 3, 4):
            text = text.replace(f"/{pid}/", f"/p{pid}/")
        f.write_text(text)
    ds = read_regdb(root)
    assert ds.train_ids == [0, 1] and ds.test_ids == [2, 3]


def test_regdb_missing_image_names_file_index_and_line(tmp_path: Path) -> None:
    root = make_regdb_tree(tmp_path, [1, 2, 3, 4])
    victim = (root / "idx" / "test_thermal_1.txt").read_text().splitlines()[2].split()[0]
    (root / victim).unlink()
    with pytest.raises(
        DatasetError, match=rf"test_thermal_1.txt line 3 lists {victim}, but .* does not exist"
    ):
        read_regdb(root)


def test_regdb_misaligned_and_malformed_lists(tmp_path: Path) -> None:
    root = make_regdb_tree(tmp_path, [1, 2, 3, 4])
    lst = root / "idx" / "train_thermal_1.txt"
    lines = lst.read_text().splitlines()
    lst.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DatasetError, match="has 4 entries but train_thermal_1.txt has 3"):
        read_regdb(root)
    lst.write_text("\n".join(lines[:-1] + [lines[-1].rsplit(" ", 1)[0] + " 7"]) + "\n")
    with pytest.raises(DatasetError, match="line 4 of train_visible_1.txt has label 1 but line 4"):
        read_regdb(root)
    lst.write_text("Thermal/1/x.bmp\n")
    with pytest.raises(DatasetError, match=r"line 1 should read '<relative path> <integer label>'"):
        read_regdb(root)


def test_regdb_wrong_layout_and_missing_trial(tmp_path: Path) -> None:
    root = make_regdb_tree(tmp_path, [1, 2])
    with pytest.raises(
        DatasetError,
        match=r"(?s)expected the index file .*train_visible_3.txt, found nothing.*Dongguk",
    ):
        read_regdb(root, trial=3)
    with pytest.raises(ValueError, match="1..10"):
        read_regdb(root, trial=0)
    (root / "Thermal").rename(root / "thermal")
    with pytest.raises(
        DatasetError, match=r"missing \['Thermal'\]; found \['Visible', 'idx', 'thermal'\]"
    ):
        read_regdb(root)


# --------------------------------------------------------------------------- LLCM


def test_llcm_train_from_lists_test_from_folders(tmp_path: Path) -> None:
    root = make_llcm_tree(
        tmp_path, [1, 2, 5], [7, 9], vis_cams=(1, 2, 4), nir_cams=(2, 4), images_per_cam=2
    )
    ds = read_llcm(root)
    assert ds.train_ids == [1, 2, 5] and ds.test_ids == [7, 9]
    assert Counter(s.modality for s in ds.train) == {"rgb": 3 * 3 * 2, "ir": 3 * 2 * 2}
    assert Counter(s.modality for s in ds.test) == {"rgb": 2 * 3 * 2, "ir": 2 * 2 * 2}
    assert {s.cam for s in ds.train if s.modality == "rgb"} == {1, 2, 4}
    assert {s.cam for s in ds.test if s.modality == "ir"} == {2, 4}
    for s in (
        ds.train
    ):  # camera parsed from the file name agrees with the _c<NN>_ written by the builder
        assert f"_c{s.cam:02d}_" in Path(s.path).name and f"{s.pid:04d}" == Path(s.path).parent.name
    for s in ds.test:
        assert Path(s.path).parts[-3] == f"cam{s.cam}"
    assert get_dataset("llcm", root).summary() == ds.summary()


def test_llcm_malformed_trees(tmp_path: Path) -> None:
    root = make_llcm_tree(tmp_path, [1, 2], [3])
    (root / "idx" / "test_id.txt").write_text("2,3\n")
    with pytest.raises(DatasetError, match=r"identities \[2\] are both in the training lists"):
        read_llcm(root)
    (root / "idx" / "test_id.txt").write_text("3\n")
    lst = root / "idx" / "train_nir.txt"
    first = lst.read_text().split()[0]
    (root / first).rename(root / first.replace("_c01_", "_x01_"))
    lst.write_text(lst.read_text().replace("_c01_", "_x01_", 1))
    with pytest.raises(
        DatasetError, match=r"cannot tell the camera of nir/0001/0001_x01_.* line 1"
    ):
        read_llcm(root)
    lst.write_text("nir/0001/0001_c01_s1_f1_nir.jpg 0\n")
    with pytest.raises(
        DatasetError, match=r"train_nir.txt line 1 lists nir/0001/0001_c01_s1_f1_nir.jpg"
    ):
        read_llcm(root)
    (root / "test_nir").rename(root / "test_ir")
    with pytest.raises(DatasetError, match=r"(?s)missing \[.test_nir.\].*agreement"):
        read_llcm(root)
    with pytest.raises(DatasetError, match="expected the LLCM root"):
        read_llcm(tmp_path / "absent")
