"""Shared fixtures: one tiny embedded tree per layout for every test that reads generated images.

The trees are generated once per session (seconds) in pytest's temporary folder and are read-only
for the tests: a test that damages a tree copies it first (``shutil.copytree``). Tests of the
generator itself (``test_synthetic.py``) make their own, with the options they test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tsgan.data.synthetic import generate

# 12 identities (about 7 train, 2 val, 3 test), 2 pictures per (identity, camera) that sees it,
# 64x32: enough for P x K = 2 x 2 batches, probes of 4 identities and a test protocol
SYSU_OPTIONS = {"num_ids": 12, "min_images": 2, "max_images": 2, "height": 64, "width": 32}
REGDB_OPTIONS = {"num_ids": 6, "images_per_id": 2, "trials": 2, "height": 32, "width": 16}


@pytest.fixture(scope="session")
def synthetic_sysu(tmp_path_factory) -> Path:
    """A SYSU-layout embedded tree (with IR twins), seed 1: :data:`SYSU_OPTIONS`."""
    out = tmp_path_factory.mktemp("synthetic") / "sysu"
    return generate(out, seed=1, progress=False, **SYSU_OPTIONS)


@pytest.fixture(scope="session")
def synthetic_regdb(tmp_path_factory) -> Path:
    """A RegDB-layout embedded tree, seed 0: :data:`REGDB_OPTIONS`."""
    out = tmp_path_factory.mktemp("synthetic") / "regdb"
    return generate(out, seed=0, layout="regdb", progress=False, **REGDB_OPTIONS)
