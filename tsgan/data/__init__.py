"""Datasets: readers for the real layouts, the embedded synthetic dataset, sampler, transforms."""

from .cache import ImageCache
from .dataset import ImageDataset, PairDataset, build_test_loader, build_train_loader, load_image
from .llcm import read_llcm
from .protocols import llcm_protocol, regdb_protocol, sysu_protocol
from .records import CrossModalityDataset, DatasetError, Sample
from .regdb import read_regdb
from .registry import dataset_names, get_dataset, register_dataset
from .sampler import CrossModalityBatchSampler
from .synthetic import ir_twin
from .sysu import IR_CAMS, RGB_CAMS, read_sysu
from .transforms import build_transforms

__all__ = [
    "CrossModalityDataset",
    "DatasetError",
    "Sample",
    "get_dataset",
    "register_dataset",
    "dataset_names",
    "read_sysu",
    "RGB_CAMS",
    "IR_CAMS",
    "read_regdb",
    "read_llcm",
    "load_image",
    "ImageDataset",
    "PairDataset",
    "build_train_loader",
    "build_test_loader",
    "ImageCache",
    "CrossModalityBatchSampler",
    "build_transforms",
    "sysu_protocol",
    "regdb_protocol",
    "llcm_protocol",
    "ir_twin",
]
