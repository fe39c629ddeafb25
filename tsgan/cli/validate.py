"""``python -m tsgan validate``: an open recipe decision over seeds on the validation identities.

The decisions, training and scoring are :mod:`tsgan.experiments.validation`. Every run trains
with ``data.split=val`` (the val ids held out) and is scored on the val ids; the test split is
never read. Examples::

    python -m tsgan validate --decision xi-reading --seeds 1                # seed 0, all settings
    python -m tsgan validate --decision xi-reading --seeds 1 train.seed=1   # the next chunk
    python -m tsgan validate --decision xi-reading --seeds 5 --cached-only  # score what finished
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..experiments.ablate_report import format_markdown, format_paired, save_results
from ..experiments.validation import DECISIONS, get_decision, run_validation, validation_document
from ..paths import runs_dir
from .common import add_config_arguments, config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--decision",
        required=True,
        choices=list(DECISIONS),
        help="; ".join(f"{d.key}: {d.question}" for d in DECISIONS.values()),
    )
    add_config_arguments(parser, run_folder=False)
    parser.add_argument(
        "--seeds",
        type=int,
        default=3,
        help="training seeds per setting: train.seed, train.seed+1, ... (default 3)",
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        default=None,
        metavar="SETTING",
        help="only these settings of the decision (default all; the first is the reference)",
    )
    parser.add_argument(
        "--cached-only",
        action="store_true",
        help="train nothing: score the (setting, seed) runs already finished in the run cache",
    )
    parser.add_argument(
        "--results",
        default=None,
        help="results file (default runs/validate/<preset>/<decision>.json)",
    )


def run(args: argparse.Namespace) -> int:
    if args.seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {args.seeds}")
    decision = get_decision(args.decision)
    if args.settings:
        known = {s.key: s for s in decision.settings}
        unknown = [k for k in args.settings if k not in known]
        if unknown:
            raise ValueError(
                f"unknown setting(s) {unknown} of decision {decision.key!r}; choose from "
                f"{list(known)}"
            )
        decision = type(decision)(
            decision.key, decision.question, tuple(known[k] for k in args.settings)
        )
    base = config_from_args(args)
    seeds = [base.train.seed + i for i in range(args.seeds)]
    records = run_validation(decision, base, seeds, cached_only=args.cached_only)
    if not records:
        raise ValueError(
            f"no finished runs of decision {decision.key!r} for seeds {seeds} in the run cache; "
            "run without --cached-only to train them"
        )
    doc = validation_document(decision, base, records)
    path = Path(args.results) if args.results else runs_dir() / "validate" / base.name
    if not args.results:
        path = path / f"{decision.key}.json"
    save_results(doc, path)
    print(f"{decision.question} (validation identities, {len(doc['seeds'])} seed(s))")
    print(format_markdown(doc["summary"]))
    if doc["paired"]:
        print(format_paired(doc["paired"]))
    print(f"results: {path}")
    return 0
