"""Checkpoints: atomic writes, weights_only loads, clear errors, the last good file survives."""

import pytest
import torch

from tsgan.engine.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def _state():
    torch.manual_seed(0)
    return {
        "models": {"w": torch.randn(4, 3)},
        "position": {"epoch": 2, "batch": 0},
        "rng": [1, 2, (3, 4)],
    }


def test_round_trip_leaves_no_temporary_files(tmp_path):
    path = save_checkpoint(tmp_path / "ck" / "last.pt", _state())
    back = load_checkpoint(path)
    assert torch.equal(back["models"]["w"], _state()["models"]["w"])
    assert back["position"] == {"epoch": 2, "batch": 0} and back["rng"] == [1, 2, (3, 4)]
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_file_gives_a_clear_error(tmp_path, damage):
    path = save_checkpoint(tmp_path / "last.pt", _state())
    data = path.read_bytes()
    path.write_bytes(
        {"truncate": data[: len(data) // 2], "garbage": b"not a checkpoint" * 10, "empty": b""}[
            damage
        ]
    )
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_missing_file_error_names_the_path(tmp_path):
    with pytest.raises(CheckpointError, match="expected a checkpoint file"):
        load_checkpoint(tmp_path / "nope.pt")


def test_pickled_code_is_refused(tmp_path):
    """weights_only=True: a checkpoint holding an arbitrary Python object does not load."""
    path = tmp_path / "evil.pt"
    torch.save({"obj": torch.nn.Linear(2, 2)}, path)  # a whole module is pickled code, not weights
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_crash_while_writing_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "last.pt", _state())
    good = path.read_bytes()

    def dying_save(obj, f):
        f.write(b"PK\x03\x04 half a zip")  # partial bytes, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"models": {"w": torch.zeros(1)}})
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    assert torch.equal(load_checkpoint(path)["models"]["w"], _state()["models"]["w"])
