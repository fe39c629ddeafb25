"""Command modules of ``python -m tsgan``: each exposes ``add_arguments(parser)`` and ``run(args) -> int``."""
