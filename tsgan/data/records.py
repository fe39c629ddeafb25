"""The one sample record used everywhere, and the dataset container the readers return.

A reader turns a dataset root into a :class:`CrossModalityDataset`: a list of training
:class:`Sample` records (train + val identities on SYSU-MM01) and a list of test records from
which the protocols (``tsgan.data.protocols``) draw queries and galleries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MODALITIES = ("rgb", "ir")


class DatasetError(RuntimeError):
    """A dataset root is missing, incomplete or in the wrong layout. The message says how to fix
    it."""


@dataclass(frozen=True, order=True)
class Sample:
    """One image: where it is, who it shows, which camera took it and in which modality."""

    path: str
    pid: int
    cam: int
    modality: str  # "rgb" or "ir"

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")


@dataclass
class CrossModalityDataset:
    """What a reader returns. ``pid`` values are the dataset's own ids (not relabelled)."""

    name: str
    root: Path
    train: list[Sample]
    test: list[Sample]
    train_ids: list[int]
    test_ids: list[int]
    val_ids: list[int] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def pid2label(self) -> dict[int, int]:
        """Contiguous classifier labels 0..N-1 for the training identities, in ascending pid
        order."""
        return {pid: i for i, pid in enumerate(sorted({s.pid for s in self.train}))}

    @property
    def num_train_ids(self) -> int:
        return len({s.pid for s in self.train})

    def subset(
        self, split: str, modality: str | None = None, cams: tuple[int, ...] | None = None
    ) -> list[Sample]:
        """Records of ``split`` ("train" or "test"), optionally filtered by modality and cameras."""
        records = {"train": self.train, "test": self.test}[split]
        return [
            s
            for s in records
            if (modality is None or s.modality == modality) and (cams is None or s.cam in cams)
        ]

    def first_pairs(self, n: int, split: str = "test") -> tuple[list[Sample], list[Sample]]:
        """The first RGB and the first IR record (in list order) of the first ``n`` identities
        (ascending pid) of ``split`` that have both: a fixed probe set."""
        first: dict[tuple[int, str], Sample] = {}
        for s in self.subset(split):
            first.setdefault((s.pid, s.modality), s)
        both = {p for p, m in first if m == "rgb"} & {p for p, m in first if m == "ir"}
        pids = sorted(both)[:n]
        return [first[p, "rgb"] for p in pids], [first[p, "ir"] for p in pids]

    def summary(self) -> str:
        """A short, deterministic text table of counts per split and modality."""
        lines = [f"{self.name} @ {self.root}"]
        lines.append(f"{'split':<6} {'ids':>5} {'rgb':>7} {'ir':>7}")
        for split, recs in (("train", self.train), ("test", self.test)):
            ids = len({s.pid for s in recs})
            rgb = sum(s.modality == "rgb" for s in recs)
            ir = len(recs) - rgb
            lines.append(f"{split:<6} {ids:>5} {rgb:>7} {ir:>7}")
        return "\n".join(lines)


def require_dir(path: Path, what: str, dataset: str, hint: str) -> Path:
    """Fail with a message naming what was expected, what was found, and where the data comes
    from."""
    path = Path(path)
    if not path.is_dir():
        found = "nothing" if not path.exists() else "a file"
        parent = path.parent
        listing = sorted(p.name for p in parent.iterdir())[:12] if parent.is_dir() else []
        raise DatasetError(
            f"{dataset}: expected {what} at {path}, found {found}.\n"
            f"  contents of {parent}: {listing if listing else '(missing)'}\n"
            f"  {hint}"
        )
    return path
