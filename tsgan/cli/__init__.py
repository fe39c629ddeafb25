"""Command lines, one module per command of ``python -m tsgan``: ``add_arguments(parser)`` and
``run(args) -> int``; ``common`` holds the shared ``--preset`` / overrides arguments."""
