"""Outputs: publish a report's files as one atomic step, with a manifest.

All files of a run are first written completely into a fresh folder under the
project's working folder (`<workdir>/staging/`). Publishing then swaps that
folder with `reports/<report>/<period>/` in one step: an atomic exchange of the
two directories (Linux `renameat2(RENAME_EXCHANGE)`), or a rename when the
period has no report yet. A run that fails or is killed before that point
leaves the previous report untouched and nothing half-written in `reports/`;
leftovers in the staging folder are cleared by the next run.

Sub-folders named in `keep` (the archive of sent versions, `sent/`) are
carried over from the previous report into the new folder (hard links, or
copies across file systems) before the swap: what was mailed stays on record
across rebuilds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import tempfile
from pathlib import Path

from pipeline.core.files import OutputFile

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _libc():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name, use_errno=True)
        return lib if hasattr(lib, "renameat2") else None
    except OSError:
        return None


_LIBC = _libc()


def exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths; False when the system cannot."""
    if _LIBC is None:
        return False
    result = _LIBC.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def write_file(target: Path, content: bytes) -> None:
    with open(target, "wb") as stream:
        stream.write(content)
        stream.flush()
        os.fsync(stream.fileno())


def write_atomically(target: Path, content: bytes, staging_root: Path) -> None:
    """One file: written completely in the staging folder, then renamed into place."""
    staging_root.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=staging_root, prefix="file-")
    os.close(handle)
    try:
        write_file(Path(temp_name), content)
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def publish(files: list[OutputFile], folder: Path, staging_root: Path, keep: tuple[str, ...] = ()) -> list[Path]:
    """Write `files` into a staging folder, then swap it into place as `folder`.

    The sub-folders `keep` of the previous `folder` are carried over unchanged.
    """
    staging_root.mkdir(parents=True, exist_ok=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(dir=staging_root, prefix="publish-"))
    try:
        for item in files:
            write_file(staged / item.name, item.content)
        for name in keep:
            if (folder / name).is_dir():
                shutil.copytree(folder / name, staged / name, copy_function=_link_or_copy)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)  # a file that cannot be written leaves nothing behind
        raise
    os.chmod(staged, 0o755)
    if folder.exists():
        if not exchange(staged, folder):
            _replace_by_renames(staged, folder, staging_root)
        shutil.rmtree(staged, ignore_errors=True)  # now holds the previous report
    else:
        try:
            os.rename(staged, folder)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            shutil.copytree(staged, folder)  # other file system: copy (not atomic)
            shutil.rmtree(staged, ignore_errors=True)
    return [folder / item.name for item in files]


def _replace_by_renames(staged: Path, folder: Path, staging_root: Path) -> None:
    """Fallback without an atomic exchange: move the old folder aside, then in."""
    aside = Path(tempfile.mkdtemp(dir=staging_root, prefix="previous-"))
    os.rmdir(aside)
    os.rename(folder, aside)
    try:
        os.rename(staged, folder)
    except OSError:
        os.rename(aside, folder)
        raise
    os.rename(aside, staged)


def clean_staging(staging: Path) -> None:
    """Remove leftovers of a crashed earlier run."""
    if staging.exists():
        shutil.rmtree(staging, ignore_errors=True)



