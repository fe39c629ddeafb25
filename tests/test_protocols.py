"""SYSU-MM01 / RegDB / LLCM protocols: draws against independently written baseline code, sizes,
errors."""

import os
import random
from pathlib import Path

import numpy as np
import pytest
from fakes import make_llcm_tree, make_regdb_tree, make_sysu_tree
from scipy.io import savemat

from tsgan.data.protocols import llcm_protocol, regdb_protocol, sysu_protocol

TEST_IDS = [4, 9, 11]
MISSING = {(9, 2), (11, 4), (4, 6)}


@pytest.fixture(scope="module")
def sysu(tmp_path_factory):
    root = tmp_path_factory.mktemp("sysu")
    return make_sysu_tree(
        root,
        train_ids=[1, 2],
        val_ids=[3],
        test_ids=TEST_IDS,
        images_per_cam=11,
        missing=MISSING,
        size=(2, 1),
    )


def baseline_gallery(data_path, mode, trial, shots):
    """The common Python baseline's process_gallery_sysu, rewritten here: strings, os.listdir,
    global random."""
    random.seed(trial)
    cameras = ["cam1", "cam2", "cam4", "cam5"] if mode == "all" else ["cam1", "cam2"]
    with open(os.path.join(data_path, "exp/test_id.txt")) as f:
        ids = ["%04d" % int(y) for y in f.read().splitlines()[0].split(",")]  # noqa: UP031
    files = []
    for pid in sorted(ids):
        for cam in cameras:
            img_dir = os.path.join(data_path, cam, pid)
            if os.path.isdir(img_dir):
                new_files = sorted([img_dir + "/" + i for i in os.listdir(img_dir)])
                if shots == 1:
                    files.append(random.choice(new_files))
                else:
                    files.extend(random.sample(new_files, 10))
    return files


@pytest.mark.parametrize("mode", ["all", "indoor"])
@pytest.mark.parametrize("shots", [1, 10])
def test_seeded_draw_reproduces_the_baseline_call_for_call(sysu, mode, shots):
    for trial in range(10):
        _, gallery = sysu_protocol(sysu, mode=mode, shots=shots, trial=trial, draw="seeded")
        expected = baseline_gallery(str(sysu), mode, trial, shots)
        assert [os.path.normpath(s.path) for s in gallery] == [
            os.path.normpath(p) for p in expected
        ]
        for s in gallery:
            assert s.pid == int(Path(s.path).parent.name) and s.cam == int(
                Path(s.path).parents[1].name[3:]
            )
            assert s.modality == "rgb"


def test_trials_draw_different_galleries(sysu):
    draws = {tuple(s.path for s in sysu_protocol(sysu, trial=t)[1]) for t in range(10)}
    assert len(draws) > 1


def test_queries_are_every_ir_test_image_in_both_modes(sysu):
    q_all, g_all = sysu_protocol(sysu, mode="all")
    q_in, g_in = sysu_protocol(sysu, mode="indoor")
    assert q_all == q_in
    expected = [(pid, cam) for pid in TEST_IDS for cam in (3, 6) if (pid, cam) not in MISSING]
    assert sorted({(s.pid, s.cam) for s in q_all}) == expected
    assert len(q_all) == 11 * len(expected) and all(s.modality == "ir" for s in q_all)
    assert len(g_all) == 3 * 4 - 2 and len(g_in) == 3 * 2 - 1  # one image per existing (id, camera)


def write_rand_perm(path, n_ids, trials_first):
    """A small rand_perm_cam.mat: cell c, entry pid-1 = (10, n) 1-based image numbers (empty when
    absent)."""
    cells = np.empty((6, 1), dtype=object)
    for c in range(6):
        per_id = np.empty((1, n_ids), dtype=object)
        for pid in range(1, n_ids + 1):
            per_id[0, pid - 1] = trials_first.get((pid, c + 1), np.zeros((0, 0)))
        cells[c, 0] = per_id
    savemat(path, {"rand_perm_cam": cells})


def test_official_draw_reads_rand_perm_cam(sysu, tmp_path):
    rng = np.random.default_rng(0)
    perms = {}
    for pid in TEST_IDS:
        for cam in (1, 2, 4, 5):
            if (pid, cam) not in MISSING:
                perms[pid, cam] = np.stack([rng.permutation(11) + 1 for _ in range(10)]).astype(
                    np.float64
                )
    split = tmp_path / "rand_perm_cam.mat"
    write_rand_perm(split, max(TEST_IDS), perms)
    for trial, shots in ((0, 1), (7, 10)):
        _, gallery = sysu_protocol(
            sysu, mode="all", shots=shots, trial=trial, draw="official", split_file=split
        )
        expected = [
            (cam, pid, int(n))
            for cam in (1, 2, 4, 5)
            for pid in TEST_IDS
            if (pid, cam) in perms
            for n in perms[pid, cam][trial, :shots]
        ]
        got = [(s.cam, s.pid, int(Path(s.path).stem)) for s in gallery]
        assert got == expected
        assert all(Path(s.path).is_file() for s in gallery)


def test_official_draw_without_the_file_says_where_to_get_it(sysu, tmp_path):
    with pytest.raises(FileNotFoundError, match="rand_perm_cam.mat.*draw='seeded'"):
        sysu_protocol(sysu, draw="official", split_file=tmp_path / "nope.mat")


def test_bad_arguments_are_reported(sysu, tmp_path):
    with pytest.raises(ValueError, match="mode must be one of"):
        sysu_protocol(sysu, mode="outdoor")
    with pytest.raises(ValueError, match="shots must be one of"):
        sysu_protocol(sysu, shots=5)
    with pytest.raises(ValueError, match="trials 0..9"):
        sysu_protocol(sysu, trial=10)
    with pytest.raises(Exception, match="SYSU-MM01"):
        sysu_protocol(tmp_path / "missing")


def test_real_size_sysu_tree_gives_3803_queries(tmp_path):
    """The real SYSU-MM01 test sizes: 96 ids, 3,803 IR queries, galleries of
    301 / 112 / 3,010 / 1,120."""
    ids = [3 * i + 1 for i in range(96)]
    jpeg = bytes.fromhex(
        "ffd8ffe000104a46494600010100000100010000ffd9"
    )  # contents are never read here
    folders = {(pid, cam): 10 for cam in (1, 2) for pid in ids[:56]}  # 112 indoor RGB folders
    folders.update(
        {(pid, 4): 10 for pid in ids} | {(pid, 5): 10 for pid in ids[:93]}
    )  # + 189 outdoor
    ir = [(pid, 3) for pid in ids[:56]] + [(pid, 6) for pid in ids]
    folders.update({key: 25 + (n < 3) for n, key in enumerate(ir)})  # 152 * 25 + 3 = 3,803
    for (pid, cam), count in folders.items():
        folder = tmp_path / f"cam{cam}" / f"{pid:04d}"
        folder.mkdir(parents=True)
        for k in range(1, count + 1):
            (folder / f"{k:04d}.jpg").write_bytes(jpeg)
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "test_id.txt").write_text(",".join(map(str, ids)))
    sizes = {}
    for mode in ("all", "indoor"):
        for shots in (1, 10):
            queries, gallery = sysu_protocol(tmp_path, mode=mode, shots=shots, trial=3)
            sizes[mode, shots] = (len(queries), len(gallery))
    assert sizes == {
        ("all", 1): (3803, 301),
        ("all", 10): (3803, 3010),
        ("indoor", 1): (3803, 112),
        ("indoor", 10): (3803, 1120),
    }


def test_regdb_directions_swap_query_and_gallery(tmp_path):
    root = make_regdb_tree(tmp_path, ids=list(range(1, 9)), images_per_id=2, trials=(2,))
    q, g = regdb_protocol(root, trial=2, direction="visible_to_thermal")
    q2, g2 = regdb_protocol(root, trial=2, direction="thermal_to_visible")
    assert (q2, g2) == (g, q)
    assert {s.modality for s in q} == {"rgb"} and {s.modality for s in g} == {"ir"}
    assert len(q) == len(g) == 4 * 2 and {s.pid for s in q} == {s.pid for s in g}
    with pytest.raises(ValueError, match="direction must be one of"):
        regdb_protocol(root, trial=2, direction="sideways")


def test_llcm_seeded_gallery_matches_the_baseline(tmp_path):
    root = make_llcm_tree(
        tmp_path,
        train_ids=[1],
        test_ids=[5, 2],
        vis_cams=(1, 2, 3),
        nir_cams=(1, 2, 4),
        images_per_cam=4,
        size=(2, 1),
    )
    for trial in (0, 4):
        queries, gallery = llcm_protocol(root, trial=trial, direction="ir_to_rgb")
        random.seed(trial)
        expected = []
        for pid in ("0002", "0005"):
            for cam in ("test_vis/cam1", "test_vis/cam2", "test_vis/cam3"):
                d = os.path.join(str(root), cam, pid)
                expected.append(random.choice(sorted(d + "/" + f for f in os.listdir(d))))
        assert [os.path.normpath(s.path) for s in gallery] == [
            os.path.normpath(p) for p in expected
        ]
        assert len(queries) == 2 * 3 * 4 and {s.modality for s in queries} == {"ir"}
