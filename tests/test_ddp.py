"""DDP on CPU: two gloo processes train TS-GAN; they end with identical weights and saw different
batches."""

import os
import socket

import torch
import torch.multiprocessing as mp
from engine_helpers import random_teacher, tiny_config, tiny_dataset

ONE_EPOCH = {"optim.epochs": 1}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, root: str, out: str) -> None:
    """One torchrun-like process: the environment torchrun would set, then the ordinary training
    call."""
    os.environ.update(
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    torch.set_num_threads(1)
    from tsgan.engine.distributed import cleanup_distributed
    from tsgan.methods.tsgan import TSGAN
    from tsgan.training import train_tsgan

    seen, models = [], []
    original = TSGAN.set_input

    def recording_set_input(self, batch):
        seen.append(
            batch["rgb"].flatten(1).sum(1)
        )  # one number per image: which images this rank got
        models.append(self)
        original(self, batch)

    TSGAN.set_input = recording_set_input
    cfg = tiny_config(root, **ONE_EPOCH)
    train_tsgan(cfg, os.path.join(out, "run"), os.path.join(out, "teacher.pt"))
    state = {name: net.state_dict() for name, net in models[-1].nets.items()}
    torch.save(
        {
            "params": {n: {k: v for k, v in sd.items()} for n, sd in state.items()},
            "seen": torch.cat(seen),
        },
        os.path.join(out, f"rank{rank}.pt"),
    )
    cleanup_distributed()


def test_two_gloo_ranks_keep_identical_weights_on_different_batches(tmp_path):
    root = tiny_dataset(tmp_path)
    random_teacher(tiny_config(root, **ONE_EPOCH), tmp_path / "teacher.pt")
    mp.spawn(_worker, args=(2, _free_port(), str(root), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert len(r0["seen"]) == len(r1["seen"]) == 3 * 4  # batches per epoch x P*K images
    assert not torch.equal(r0["seen"], r1["seen"])
    params = dict(r0["params"]["backbone"])
    for net in r0["params"]:
        for k, v in r0["params"][net].items():
            if "running" in k or "num_batches" in k:
                # BN statistics are per rank between forwards (DDP re-broadcasts them from rank 0)
                continue
            assert torch.equal(v, r1["params"][net][k]), f"{net}.{k} differs between ranks"
    assert params  # the backbone was compared
    assert (tmp_path / "run" / "checkpoints" / "final.pt").is_file()
