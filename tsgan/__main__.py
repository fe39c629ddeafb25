"""Command line: ``python -m tsgan <command> ...``.

Each command is a module of ``tsgan.cli``; this file only dispatches. A command module exposes
``add_arguments(parser)`` and ``run(args) -> int``.

Errors a user can act on (a bad config field or value, a missing file, a dataset in the wrong
layout, an unreadable checkpoint, a diverged run) end with their one-line message on stderr and
exit code 2; ``--debug`` (anywhere on the line) or ``TSGAN_DEBUG=1`` shows the traceback instead.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = {
    "data": ("tsgan.cli.data", "generate the embedded dataset, summarise or check a dataset"),
    "train-teacher": ("tsgan.cli.train_teacher", "pretrain the IR-only teacher"),
    "train": ("tsgan.cli.train", "train TS-GAN (Algorithm 1)"),
    "evaluate": ("tsgan.cli.evaluate", "evaluate a checkpoint with a standard protocol"),
    "demo": ("tsgan.cli.demo", "the whole pipeline on the embedded data, in minutes on a CPU"),
    "ablate": ("tsgan.cli.ablate", "paper Table II ablations over seeds"),
    "validate": ("tsgan.cli.validate", "an open recipe decision over seeds on validation ids"),
    "assignments": ("tsgan.cli.assignments", "build student and instructor notebooks"),
    "export": ("tsgan.cli.export", "write the deployed student backbone as ONNX or TorchScript"),
    "extract": ("tsgan.cli.extract", "test features of a folder of images, saved with their paths"),
    "search": ("tsgan.cli.search", "rank a gallery folder for query images: figure and CSV"),
    "runs": ("tsgan.cli.runs", "list the cached runs with their key numbers"),
}
# Python's errors for bad input, and tsgan's own (matched by name: the modules import torch).
USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError, IsADirectoryError)
TSGAN_USER_ERRORS = {"CheckpointError", "DatasetError", "DivergenceError", "MissingExtraError"}


def is_user_error(err: BaseException) -> bool:
    """An error whose message tells the user what to fix (no traceback needed)."""
    return isinstance(err, USER_ERRORS) or any(
        c.__name__ in TSGAN_USER_ERRORS and c.__module__.startswith("tsgan.")
        for c in type(err).__mro__
    )


def error_line(err: BaseException) -> str:
    """``error: <message>`` (a KeyError's message without the quotes ``str(KeyError)`` adds)."""
    text = err.args[0] if isinstance(err, KeyError) and len(err.args) == 1 else err
    return f"error: {text}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv or os.environ.get("TSGAN_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    try:
        return dispatch(argv)
    except Exception as err:
        if debug or not is_user_error(err):
            raise
        print(error_line(err), file=sys.stderr)
        return 2


def dispatch(argv: list[str]) -> int:
    """Parse ``argv`` (without the program name) and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m tsgan", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error (or set TSGAN_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="command")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    known, _ = parser.parse_known_args(argv)
    if known.command is None:
        parser.print_help()
        return 2
    # Only the chosen command's module is imported (torch-free commands stay fast).
    module_name, help_text = COMMANDS[known.command]
    module = importlib.import_module(module_name)
    command = argparse.ArgumentParser(
        prog=f"python -m tsgan {known.command}", description=help_text
    )
    module.add_arguments(command)
    args = command.parse_args(argv[1:])  # argv[0] is the command (--debug is already removed)
    args.command = known.command
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
