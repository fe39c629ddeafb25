"""Progress reporting: a live tqdm bar on a terminal, one summary line per epoch elsewhere.

Why: a notebook (and a log file) keeps every redraw of a tqdm bar, so one training cell stored
hundreds of stderr outputs (38 KB in notebook 02); ``tqdm.auto`` also warned "IProgress not found"
where ipywidgets is missing. The mode is read from ``$TSGAN_PROGRESS`` or set with
:func:`set_progress`:

* ``bar``: tqdm bars on stderr (data caching, features, trials, training steps);
* ``lines``: no bars; the trainer prints one line per epoch to stdout (:func:`summary`);
* ``off``: nothing;
* ``auto`` (default): ``bar`` when stderr is a terminal, else ``lines`` (notebooks, pipes, CI).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from tqdm import tqdm

MODES = ("auto", "bar", "lines", "off")
ENV = "TSGAN_PROGRESS"
_mode: str | None = None  # set_progress() wins over the environment variable


def set_progress(mode: str | None) -> None:
    """Choose the progress mode for this process (None: back to ``$TSGAN_PROGRESS`` / auto)."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"progress mode must be one of {MODES}, got {mode!r}")
    global _mode
    _mode = mode


def progress_mode() -> str:
    """The resolved mode: ``bar``, ``lines`` or ``off``."""
    mode = _mode or os.environ.get(ENV, "auto") or "auto"
    if mode not in MODES:
        raise ValueError(f"{ENV} must be one of {MODES}, got {mode!r}; unset it for auto")
    if mode == "auto":
        isatty = getattr(sys.stderr, "isatty", None)
        return "bar" if isatty is not None and isatty() else "lines"
    return mode


def bar(
    iterable: Iterable | None = None, *, desc: str, enabled: bool = True, **kwargs: Any
) -> tqdm:
    """A tqdm bar (``kwargs`` go to tqdm) drawn only in ``bar`` mode and when ``enabled``; in the
    other modes the same object iterates silently."""
    return tqdm(iterable, desc=desc, disable=not enabled or progress_mode() != "bar", **kwargs)


def summary(line: str, enabled: bool = True) -> None:
    """One line of progress (e.g. an epoch's end) on stdout, in ``lines`` mode only."""
    if enabled and progress_mode() == "lines":
        print(line, flush=True)
