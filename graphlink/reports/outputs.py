"""Output paths: refused before any work when they cannot be written, written whole or not at all.

Every ``--output FILE`` and every output folder option (``demo --out``,
``--state``) is checked before a command loads or analyses anything: a
missing folder, a file where a folder should be, a folder where the file
should be, no permission or a read-only file system is one
:class:`OutputError` naming the path and the reason (the CLI prints it as one
``error:`` line and exits 1). The check writes and removes a small file
beside the target, because permission bits do not tell (root ignores them; a
read-only mount does not show in them).

:func:`atomic_file` writes a report to a temporary file in the target's
folder and renames it over the target once complete, so a reader never sees
half a report and a failed run leaves an earlier report as it was. Special
files (``/dev/null``, ``/dev/stdout``, a FIFO) are written directly; a
symbolic link is followed and the file it points to replaced. :class:`Rows` is a
long list of rows made a batch at a time as a file is written (`report all`'s
clusters rows).

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> check_output_file(folder / "missing" / "x.json")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
graphlink.reports.outputs.OutputError: cannot write .../missing/x.json: folder .../missing does ...
>>> with atomic_file(folder / "x.txt") as out:
...     _ = out.write(b"whole")
>>> (folder / "x.txt").read_bytes(), sorted(p.name for p in folder.iterdir())
(b'whole', ['x.txt'])
"""

from __future__ import annotations

import contextlib
import errno
import operator
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from graphlink.core.errors import GraphlinkError

__all__ = ["OutputError", "check_output_file", "check_output_folder", "atomic_file", "Rows"]


class OutputError(GraphlinkError):
    """An output path that cannot be written."""


def _reason(exc: OSError) -> str:
    """The reason of an OS error in words: ``permission denied``, ``read-only file system``."""
    if exc.errno is not None:
        return os.strerror(exc.errno)[:1].lower() + os.strerror(exc.errno)[1:]
    return str(exc)


def _shown(path: Path | str) -> str:
    """A path for a message (control characters escaped)."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def _special(path: Path) -> bool:
    """True for an existing target that is not a regular file or folder (a device, a FIFO)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _try_create(folder: Path) -> None:
    """Create and remove a file in ``folder``; the OSError when that fails."""
    probe = folder / f".graphlink-probe-{secrets.token_hex(6)}.tmp"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    os.unlink(probe)


def _target(path: Path) -> Path:
    """The file a write to ``path`` replaces: a symbolic link's target."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_output_file(path: str | Path | None) -> None:
    """Raise :class:`OutputError` unless a report can be written to ``path``.

    ``None`` and ``-`` (standard output) always can. Nothing is left behind.
    """
    if path is None or str(path) == "-":
        return
    given = Path(path)

    def refuse(reason: str) -> OutputError:
        return OutputError(f"cannot write {_shown(given)}: {reason}")

    if str(path).endswith(os.sep) or given.is_dir():
        raise refuse("it is a folder (give a file name)")
    target = _target(given)
    if _special(target):
        if not os.access(target, os.W_OK):
            raise refuse("permission denied")
        return
    folder = target.parent
    if (problem := _folder_problem(folder)) is not None:
        raise refuse(problem)
    try:
        _try_create(folder)
    except OSError as exc:
        if target.is_file() and os.access(target, os.W_OK):
            return  # a writable file in a folder we cannot add to: written in place
        raise refuse(_reason(exc)) from None
    if target.exists() and not os.access(target, os.W_OK):
        raise refuse("the file is read-only")


def _folder_problem(folder: Path) -> str | None:
    """Why a file cannot go in ``folder`` before trying (missing, not a folder), or None."""
    if not folder.exists():
        return f"folder {_shown(folder)} does not exist"
    if not folder.is_dir():
        return f"{_shown(folder)} is not a folder"
    return None


def check_output_folder(path: str | Path | None, what: str = "folder") -> None:
    """Raise :class:`OutputError` unless files can be written in folder ``path``
    (created, with its parents, by the command when it does not exist yet)."""
    if path is None:
        return
    given = Path(path)

    def refuse(reason: str) -> OutputError:
        return OutputError(f"cannot write the {what} {_shown(given)}: {reason}")

    existing = given
    while not existing.exists() and existing != existing.parent:
        if existing.is_symlink():  # a dangling link
            raise refuse(f"{_shown(existing)} is a broken symbolic link")
        existing = existing.parent
    if not existing.is_dir():
        raise refuse("it is not a folder" if existing == given
                     else f"{_shown(existing)} is not a folder")
    try:
        _try_create(existing)
    except OSError as exc:
        raise refuse(_reason(exc)) from None


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file to write; it replaces ``path`` only once the block ends without error.

    A write error becomes an :class:`OutputError` naming the path and the reason.
    """
    given = Path(path)
    target = _target(given)
    direct = _special(target)
    temp = None
    try:
        if not direct:
            temp, out = _temporary(target)
        if direct or temp is None:
            out = open(target, "wb")  # noqa: SIM115 (closed below)
        try:
            yield out
        finally:
            out.close()
        if temp is not None:
            os.replace(temp, target)
            temp = None
    except OSError as exc:
        raise OutputError(f"cannot write {_shown(given)}: {_reason(exc)}") from None
    finally:
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _temporary(target: Path) -> tuple[Path | None, BinaryIO | None]:
    """A new file beside ``target`` (its mode copied when ``target`` exists), or
    ``(None, None)`` when the folder takes no new file but ``target`` is writable."""
    mode = 0o666  # less the umask, as open() would create the file
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(target.stat().st_mode)
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and target.is_file() \
                    and os.access(target, os.W_OK):
                return None, None
            raise
        if target.exists():
            with contextlib.suppress(OSError):
                os.chmod(temp, mode)  # the umask narrowed it
        return temp, os.fdopen(fd, "wb")
    raise OSError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))


#: rows made at a time when a :class:`Rows` is iterated
ROWS_BATCH = 1000


class Rows(Sequence):
    """A long list of rows (dicts) made a batch at a time when read, by ``build(start,
    stop)``: a report's files need one batch at a time, and a 300,000-shop clusters
    report's rows are 64 MB of dicts (16,000 page faults to make and keep). Read as a
    list: ``len``, indexing, slices, iteration; the writers encode it batch by batch.

    >>> rows = Rows(3, lambda a, b: [{"i": i} for i in range(a, b)])
    >>> len(rows), rows[1], rows[1:], list(rows) == [{"i": 0}, {"i": 1}, {"i": 2}]
    (3, {'i': 1}, [{'i': 1}, {'i': 2}], True)
    """

    def __init__(self, length: int, build: Callable[[int, int], list[dict]],
                 columns: dict[str, list] | None = None):
        self._length, self._build = length, build
        #: the columns the rows are made of, when given: each row's value of a key is the
        #: column's value at its place (a renderer may read them without making the rows)
        self.columns = columns or {}

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)
            if step != 1:
                return self._build(0, self._length)[index]
            return self._build(start, stop) if start < stop else []
        i = operator.index(index)
        i = i + self._length if i < 0 else i
        if not 0 <= i < self._length:
            raise IndexError("row index out of range")
        return self._build(i, i + 1)[0]

    def __iter__(self) -> Iterator[dict]:
        for start in range(0, self._length, ROWS_BATCH):
            yield from self._build(start, min(start + ROWS_BATCH, self._length))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (list, Rows)) and len(other) == len(self) and \
            list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # as a list's
