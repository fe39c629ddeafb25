"""Operating-system faults for command-line tests, installed at interpreter start when this
folder is on ``PYTHONPATH`` (``tests/test_cli_error_table.py`` puts it there for one subprocess).

``TSGAN_FAULT`` chooses one:

* ``readonly:<folder>``: ``<folder>`` behaves as a read-only mount: creating or writing anything
  under it fails with ``EROFS`` and the path, as the kernel reports it (an existing folder gives
  ``EEXIST`` and a missing parent ``ENOENT`` first, as mkdir(2) does);
* ``enospc:<folder>``: the disk holding ``<folder>`` is full for the atomic checkpoint writes (the
  ``.tmp`` files): their data goes to ``/dev/full``, so the write fails with ``ENOSPC`` and no
  path, exactly as a real full disk fails ``torch.save`` into an open file;
* ``no-module:<name>``: the package ``<name>`` is not installed (``import`` and
  ``importlib.util.find_spec`` both say so).

Root ignores permission bits and mounting needs privileges, so the faults are simulated at the
Python calls every write goes through (``open``, ``os.open``, ``os.fdopen``, ``os.mkdir``).
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import sys

KIND, _, ARG = os.environ.get("TSGAN_FAULT", "").partition(":")
_open, _os_open, _fdopen, _mkdir = io.open, os.open, os.fdopen, os.mkdir
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _under(path) -> bool:
    if isinstance(path, int):
        return False
    folder = os.path.realpath(ARG)
    real = os.path.realpath(os.fspath(path))
    return real == folder or real.startswith(folder + os.sep)


def _writes(mode: str) -> bool:
    return any(c in mode for c in "wax+")


def _refuse(path) -> OSError:
    return OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))


def _readonly_open(file, mode="r", *args, **kwargs):
    if _writes(mode) and _under(file):
        raise _refuse(file)
    return _open(file, mode, *args, **kwargs)


def _readonly_os_open(path, flags, *args, **kwargs):
    if flags & WRITE_FLAGS and _under(path):
        raise _refuse(path)
    return _os_open(path, flags, *args, **kwargs)


def _readonly_mkdir(path, *args, **kwargs):
    if _under(path):
        if os.path.exists(path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fspath(path))
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(path))
        raise _refuse(path)
    return _mkdir(path, *args, **kwargs)


def _full_fdopen(fd, mode="r", *args, **kwargs):
    path = os.readlink(f"/proc/self/fd/{fd}")
    if _writes(mode) and _under(path) and path.endswith(".tmp"):
        os.close(fd)
        return _open("/dev/full", mode)
    return _fdopen(fd, mode, *args, **kwargs)


if KIND == "readonly":
    builtins.open = io.open = _readonly_open
    os.open, os.mkdir = _readonly_os_open, _readonly_mkdir
elif KIND == "enospc":
    os.fdopen = _full_fdopen
elif KIND == "no-module":
    sys.modules[ARG] = None  # what find_spec and import read for a package that is absent
elif KIND:
    raise SystemExit(f"unknown TSGAN_FAULT {KIND!r}")
