"""Command modules of ``python -m tsgan``.

Each exposes ``add_arguments(parser)`` and ``run(args) -> int``.
"""
