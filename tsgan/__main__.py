"""Command line: ``python -m tsgan <command> ...``.

Each command is a module of ``tsgan.cli``; this file only dispatches. A command module exposes
``add_arguments(parser)`` and ``run(args) -> int``.

Errors a user can act on (a bad config field, option or value, a missing or corrupt file, a
dataset in the wrong layout, an unreadable checkpoint, a diverged run, a missing optional package,
a folder that is read-only or on a full disk), also when raised in a data-loader worker, end with
their one-line message on stderr and exit code 2; ``--debug`` (anywhere on the line) or
``TSGAN_DEBUG=1`` shows the traceback instead. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import ast
import errno
import importlib
import os
import re
import sys

# Each command's description: one line in ``python -m tsgan --help`` at 80 columns (argparse wraps
# longer ones), naming each of its subcommands where it has some (tests/test_cli.py checks both).
COMMANDS = {
    "data": ("tsgan.cli.data", "synth embedded data; summary or check of a dataset"),
    "train-teacher": (
        "tsgan.cli.train_teacher",
        "pretrain the IR teacher (--modality rgb: RGB baseline)",
    ),
    "train": ("tsgan.cli.train", "train TS-GAN (Algorithm 1) and a missing teacher"),
    "evaluate": ("tsgan.cli.evaluate", "score a checkpoint on a protocol: table, JSON report"),
    "demo": ("tsgan.cli.demo", "whole pipeline on the embedded data (minutes on a CPU)"),
    "ablate": ("tsgan.cli.ablate", "paper Table II ablations over seeds; --recheck a row"),
    "validate": ("tsgan.cli.validate", "an open recipe decision over seeds on validation ids"),
    "assignments": (
        "tsgan.cli.assignments",
        "build student/instructor notebooks; grade submissions",
    ),
    "export": ("tsgan.cli.export", "the deployed student backbone as ONNX or TorchScript"),
    "extract": ("tsgan.cli.extract", "features of a folder's images, saved with their paths"),
    "search": ("tsgan.cli.search", "rank a gallery folder for queries: figure and CSV"),
    "runs": ("tsgan.cli.runs", "list the cached runs with their key numbers"),
}
# Python's errors for bad input, and tsgan's own (matched by name: the modules import torch).
USER_ERRORS = (ValueError, KeyError, FileNotFoundError, NotADirectoryError, IsADirectoryError)
TSGAN_USER_ERRORS = {
    "CheckpointError",
    "DatasetError",
    "DivergenceError",
    "ExportError",
    "MissingExtraError",
}
# Operating-system errors a user fixes (permissions, a read-only mount, a full disk or quota).
USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}
# torch's DataLoader re-raises a worker's exception as the same type with this message around
# the worker's formatted traceback (torch.utils.data._utils.worker / torch._utils.ExceptionWrapper).
WORKER_WRAP = re.compile(r"^Caught (\w+) in DataLoader worker process \d+\.\nOriginal ")
OVERRIDE = re.compile(r"^[A-Za-z_]\w*\.[A-Za-z_]\w*=")  # section.field=value


class UsageError(ValueError):
    """A command line argparse rejects (unknown option, missing or bad value)."""


class CommandParser(argparse.ArgumentParser):
    """argparse with its errors as one line (``error: <prog>: <what>; see <prog> --help``)
    through the same exit path as every other user error, instead of usage text and exit 2."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message}; see {self.prog} --help")


class CommandListFormatter(argparse.HelpFormatter):
    """argparse's help with every command's description on the line of its name: argparse (3.11)
    measures the command names at the indent of the list's heading, two columns left of where it
    prints them, so the longest name (``train-teacher``) got a line of its own."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction) and action.help is not argparse.SUPPRESS:
            longest = max(map(len, action.choices), default=0)
            printed_at = self._current_indent + self._indent_increment
            self._action_max_length = max(self._action_max_length, longest + printed_at)


def is_user_error(err: BaseException) -> bool:
    """An error whose message tells the user what to fix (no traceback needed)."""
    if isinstance(err, OSError) and err.errno in USER_ERRNOS:
        return True
    return isinstance(err, USER_ERRORS) or any(
        c.__name__ in TSGAN_USER_ERRORS and c.__module__.startswith("tsgan.")
        for c in type(err).__mro__
    )


def worker_message(text: str) -> str:
    """The original message of an exception a DataLoader worker raised (``text`` unchanged when it
    is not such a wrapper): the last ``<module.>Name: message`` entry of the worker's traceback."""
    wrapped = WORKER_WRAP.match(text)
    if wrapped is None:
        return text
    header = re.compile(rf"^(?:[\w.]+\.)?{wrapped.group(1)}: ", re.MULTILINE)
    starts = [m.end() for m in header.finditer(text)]
    return text[starts[-1] :] if starts else text


def error_line(err: BaseException) -> str:
    """``error: <message>`` on one line: a KeyError's message without the quotes
    ``str(KeyError)`` adds, a data-loader worker's original message without the worker's
    traceback, an operating-system error with the path it concerns, line breaks joined."""
    text = err.args[0] if isinstance(err, KeyError) and len(err.args) == 1 else err
    unwrapped = worker_message(str(text))
    if isinstance(err, KeyError) and unwrapped != str(text):
        try:  # the worker's traceback printed the KeyError's repr
            unwrapped = str(ast.literal_eval(unwrapped.strip()))
        except (ValueError, SyntaxError):
            pass
    text = unwrapped
    if isinstance(err, OSError) and err.errno in USER_ERRNOS:
        text = os_error_message(err)
    return "error: " + " ".join(part.strip() for part in text.splitlines() if part.strip())


def os_error_message(err: OSError) -> str:
    """A permission, read-only or full-disk error as what failed, where, and what to do."""
    where = f" {err.filename}" if err.filename else ""
    reason = err.strerror or os.strerror(err.errno)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = (
            f"free space on {'that disk' if where else 'the disk of the run folder or output'} "
            "(or choose a run folder on another disk with --run-dir or train.out_dir=...) and "
            "rerun the same command: training resumes from its last checkpoint"
        )
    else:
        fix = (
            "make it writable or choose another place (--run-dir, train.out_dir=..., or the "
            "command's --out)"
        )
    return f"cannot write{where}: {reason}; {fix}"


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
    parser = CommandParser(
        prog="python -m tsgan",
        description="TS-GAN, RGB-infrared person re-identification: one command per task "
        "(python -m tsgan COMMAND --help for its options).",
        formatter_class=CommandListFormatter,
    )
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
    command = CommandParser(prog=f"python -m tsgan {known.command}", description=help_text)
    module.add_arguments(command)
    args = parse_command(command, argv[1:])  # argv[0] is the command (--debug already removed)
    args.command = known.command
    return int(module.run(args) or 0)


def parse_command(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse a command's arguments with its ``section.field=value`` overrides anywhere on the
    line (``train optim.lr=1 --run-dir X optim.epochs=2``).

    Intermixed parsing gathers positionals split by options; an override swallowed by an option
    of several values (``--rows a b optim.epochs=4``) goes back to the overrides. Commands with
    subcommands take no overrides and parse as usual (argparse cannot intermix them)."""
    if parser._subparsers is not None:
        return parser.parse_args(argv)
    args = parser.parse_intermixed_args(argv)
    overrides = getattr(args, "overrides", None)
    if overrides is None:
        return args
    for name, value in list(vars(args).items()):
        if name != "overrides" and isinstance(value, list):
            moved = [v for v in value if isinstance(v, str) and OVERRIDE.match(v)]
            if moved:
                overrides.extend(moved)
                setattr(args, name, [v for v in value if v not in moved])
    overrides.sort(key=argv.index)  # the line's order: a later override of a field wins
    return args


if __name__ == "__main__":
    sys.exit(main())
