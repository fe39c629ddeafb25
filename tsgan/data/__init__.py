"""Datasets: readers for the real layouts, the embedded synthetic dataset, sampler, transforms."""
from .records import CrossModalityDataset, DatasetError, Sample
from .registry import dataset_names, get_dataset, register_dataset
from .sysu import IR_CAMS, RGB_CAMS, read_sysu

__all__ = [
    "CrossModalityDataset", "DatasetError", "Sample", "get_dataset", "register_dataset", "dataset_names",
    "read_sysu", "RGB_CAMS", "IR_CAMS",
]
