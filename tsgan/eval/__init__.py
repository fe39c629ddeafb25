"""Evaluation: CMC / mAP / mINP under the standard protocols, k-reciprocal re-ranking, features,
reports."""

from .features import extract_features, handcrafted_features
from .metrics import PROTOCOLS, euclidean_distance, evaluate_rank
from .report import evaluate_model, format_table, save_report
from .reranking import rerank, rerank_features

__all__ = [
    "PROTOCOLS",
    "evaluate_rank",
    "euclidean_distance",
    "rerank",
    "rerank_features",
    "extract_features",
    "evaluate_model",
    "format_table",
    "save_report",
    "handcrafted_features",
]
