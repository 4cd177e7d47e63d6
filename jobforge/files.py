"""Read and write the files a command names, turning every OS error into one line with a fix.

A command that writes a file (``jobforge recommend -o``, ``jobforge new DEST``, the copier.yml
generator) or reads one the user names (``jobforge answers check``) goes through here, so a bad
path ends in a :class:`~jobforge.errors.UsageError` that names the path, what is wrong and what to
do, never in a traceback.
"""

from __future__ import annotations

import errno
from pathlib import Path

from jobforge.errors import UsageError


def _existing_ancestor(path: Path) -> Path:
    """Return the nearest ancestor of ``path`` (or itself) that exists."""
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _write_fix(path: Path, exc: OSError) -> str:
    """Say what is wrong with ``path`` as a place to write, and the fix."""
    if exc.errno == errno.EISDIR or path.is_dir():
        return f"it is a directory; name a file inside it, e.g. {path / 'answers.yml'}"
    ancestor = _existing_ancestor(path.parent)
    if ancestor.exists() and not ancestor.is_dir():
        return f"{ancestor} is a file, not a directory; choose a path in a directory"
    if exc.errno == errno.ENOENT or ancestor != path.parent:
        return f"the directory {path.parent} does not exist; create it first or choose another path"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{exc.strerror}; choose a directory you can write to"
    return f"{exc.strerror or exc}; choose another path"


def write_file(path: Path, text: str, what: str) -> None:
    """Write ``text`` to ``path`` or raise UsageError naming ``what``, the path and the fix."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write {what}: {_write_fix(path, exc)}") from None


def make_output_directory(path: Path, what: str) -> None:
    """Create ``path`` as a directory (it may exist) or raise UsageError saying why not."""
    if path.exists() and not path.is_dir():
        raise UsageError(
            f"{path}: cannot generate {what} there: it is a file, not a directory; "
            "choose a new or existing directory"
        )
    ancestor = _existing_ancestor(path)
    if not ancestor.is_dir():
        raise UsageError(
            f"{path}: cannot generate {what} there: {ancestor} is a file, not a directory; "
            "choose a path in a directory"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot generate {what} there: {exc.strerror} ({exc.filename}); "
            "choose a directory you can write to"
        ) from None


def read_text_file(path: Path, what: str, example: str) -> str:
    """Read a UTF-8 text file the user named, or raise UsageError saying why not and the fix.

    ``example`` completes the fix, e.g. "an answers file such as examples/answers/sqlite.yml".
    """
    if path.is_dir():
        raise UsageError(f"{path}: is a directory; pass {example}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such {what}; check the path") from None
    except PermissionError:
        raise UsageError(
            f"{path}: permission denied reading {what}; make it readable (chmod u+r) or copy it"
        ) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read {what} ({exc.strerror}); pass {example}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not a text file (byte {data[exc.start]:#04x} at offset {exc.start} is not "
            f"UTF-8); pass {example}"
        ) from None
