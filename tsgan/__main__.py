"""Command line: ``python -m tsgan <command> ...``.

Each command lives with the code it drives; this file only dispatches. A command module exposes
``add_arguments(parser)`` and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "data": ("tsgan.data.cli", "generate the embedded dataset, summarise a dataset"),
    "train-teacher": ("tsgan.engine.cli_teacher", "pretrain the IR-only teacher"),
    "train": ("tsgan.engine.cli_train", "train TS-GAN (Algorithm 1)"),
    "evaluate": ("tsgan.eval.cli", "evaluate a checkpoint with a standard protocol"),
    "demo": ("tsgan.engine.demo", "the whole pipeline on the embedded data, in minutes on a CPU"),
    "ablate": ("tsgan.engine.ablate", "paper Table II ablations over seeds"),
    "assignments": ("tsgan.assignments.cli", "build student and instructor notebooks"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tsgan", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="command")
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if not module_name.startswith(str(err.name)):
                raise
            continue  # command not part of this build yet
        modules[name] = module
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(modules[args.command].run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
