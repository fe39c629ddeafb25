"""Evaluation: CMC / mAP / mINP under the standard protocols, k-reciprocal re-ranking, features, reports."""
from .metrics import PROTOCOLS, euclidean_distance, evaluate_rank
from .rerank import rerank

__all__ = ["PROTOCOLS", "evaluate_rank", "euclidean_distance", "rerank"]
