"""Datasets: readers for the real layouts, the embedded synthetic dataset, sampler, transforms."""
from .records import CrossModalityDataset, DatasetError, Sample
from .registry import dataset_names, get_dataset, register_dataset
from .llcm import read_llcm
from .regdb import read_regdb
from .sysu import IR_CAMS, RGB_CAMS, read_sysu

__all__ = [
    "CrossModalityDataset", "DatasetError", "Sample", "get_dataset", "register_dataset", "dataset_names",
    "read_sysu", "RGB_CAMS", "IR_CAMS", "read_regdb", "read_llcm",
]
