"""``python -m tsgan search``: rank a gallery folder for query images, as a figure and a CSV.

Example::

    python -m tsgan search --checkpoint runs/x/checkpoint.pt --query person.jpg --gallery cctv/ \\
        --rerank --top 10 --out ranked.png

writes ``ranked.png`` (each row: a query and its ``--top`` nearest gallery images with their
distances) and ``ranked.csv`` beside it (query, rank, gallery, distance; every query, ``--top``
rows each). Identities are unknown, so frames stay white (no green/red as in the evaluation).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import at_least, between, check_output_file
from .extract import add_model_arguments, load_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    parser.add_argument("--query", required=True, help="query image, or a folder of query images")
    parser.add_argument(
        "--gallery", required=True, help="folder of gallery images (searched recursively)"
    )
    parser.add_argument(
        "--top", type=at_least(1), default=10, help="gallery images per query (default 10)"
    )
    parser.add_argument(
        "--rerank", action="store_true", help="k-reciprocal re-ranking of the distances"
    )
    parser.add_argument(
        "--k1", type=at_least(1), default=20, help="re-ranking k1 (clamped to half the gallery)"
    )
    parser.add_argument("--k2", type=at_least(1), default=6, help="re-ranking k2 (at most k1)")
    parser.add_argument(
        "--lambda", dest="lambda_", type=between(0.0, 1.0), default=0.3, help="re-ranking lambda"
    )
    parser.add_argument(
        "--figure-queries",
        type=at_least(1),
        default=10,
        help="queries drawn in the figure (the CSV holds all; default 10)",
    )
    parser.add_argument(
        "--out", required=True, help="figure file (.png, .pdf...); the CSV goes beside it"
    )


def run(args: argparse.Namespace) -> int:
    import matplotlib.pyplot as plt

    from ..eval.search import (
        clamp_rerank_k,
        folder_features,
        search_distances,
        top_matches,
        write_ranking_csv,
    )
    from ..figure_inputs import image_rows

    out = check_output_file(args.out, "--out", "ranked.png")
    check_output_file(out.with_suffix(".csv"), "--out (its CSV)", "ranked.csv")
    backbone, cfg = load_model(args)
    gallery_feats, gallery = folder_features(
        backbone, cfg, args.gallery, args.batch_size, cfg.eval.flip
    )
    query_feats, queries = folder_features(
        backbone, cfg, args.query, args.batch_size, cfg.eval.flip
    )
    rerank_k = None
    if args.rerank:
        k1, k2 = clamp_rerank_k(args.k1, args.k2, len(gallery))
        if (k1, k2) != (args.k1, args.k2):
            print(
                f"re-ranking: the gallery has {len(gallery)} images, so k1={args.k1}, "
                f"k2={args.k2} become k1={k1}, k2={k2} (k1 at most half the gallery keeps "
                "the k-reciprocal sets selective)"
            )
        rerank_k = (k1, k2, args.lambda_)
    dist = search_distances(query_feats, gallery_feats, cfg.eval.feat_norm, rerank_k)
    order = top_matches(dist, args.top)

    out.parent.mkdir(parents=True, exist_ok=True)
    csv_path = write_ranking_csv(out.with_suffix(".csv"), queries, gallery, dist, order)
    shown = min(len(queries), args.figure_queries)
    rows = [
        [(queries[qi].path, None, "query\n" + Path(queries[qi].path).name)]
        + [
            (gallery[gi].path, None, f"{rank}\nd={float(dist[qi, gi]):.3g}")
            for rank, gi in enumerate(order[qi].tolist(), start=1)
        ]
        for qi in range(shown)
    ]
    fig = image_rows(rows, size=(cfg.data.height, cfg.data.width))
    fig.savefig(out, dpi=150)
    plt.close(fig)
    kind = "re-ranked" if rerank_k else "Euclidean"
    print(
        f"ranked {len(gallery)} gallery images for {len(queries)} query image(s) "
        f"({kind} distances): "
        f"figure {out} ({shown} shown), CSV {csv_path} ({order.numel()} rows)"
    )
    return 0
