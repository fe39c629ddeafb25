"""Command modules of ``python -m tsgan``: each has ``add_arguments(parser)`` and ``run(args) -> int``."""
