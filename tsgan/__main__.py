"""Command line: ``python -m tsgan <command> ...``.

Each command is a module of ``tsgan.cli``; this file only dispatches. A command module exposes
``add_arguments(parser)`` and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "data": ("tsgan.cli.data", "generate the embedded dataset, summarise a dataset"),
    "train-teacher": ("tsgan.cli.train_teacher", "pretrain the IR-only teacher"),
    "train": ("tsgan.cli.train", "train TS-GAN (Algorithm 1)"),
    "evaluate": ("tsgan.cli.evaluate", "evaluate a checkpoint with a standard protocol"),
    "demo": ("tsgan.cli.demo", "the whole pipeline on the embedded data, in minutes on a CPU"),
    "ablate": ("tsgan.cli.ablate", "paper Table II ablations over seeds"),
    "assignments": ("tsgan.cli.assignments", "build student and instructor notebooks"),
    "export": ("tsgan.cli.export", "write the deployed student backbone as ONNX or TorchScript"),
    "extract": ("tsgan.cli.extract", "test features of a folder of images, saved with their paths"),
    "search": ("tsgan.cli.search", "rank a gallery folder for query images: figure and CSV"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsgan", description=__doc__.splitlines()[0])
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
    command = argparse.ArgumentParser(prog=f"python -m tsgan {known.command}", description=help_text)
    module.add_arguments(command)
    args = command.parse_args(sys.argv[1:][1:] if argv is None else argv[1:])
    args.command = known.command
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
