"""Files the package keeps: the one user cache directory (compiled lexicon parts, trained
models, query caches, NLTK data) and atomic writes (reports, run state, cache files)."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


def cache_dir(*parts: str, create: bool = True) -> Path:
    """`$LLAMOS_CACHE_DIR`, else `$XDG_CACHE_HOME/llamos`, else `~/.cache/llamos`, joined with
    `parts`; created unless `create` is false (callers that cope with a read-only disk)."""
    root = os.environ.get("LLAMOS_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "llamos"
    path = base.joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so readers see either the old file or the whole new one. The
    file gets the permissions the user's umask gives a new file (0644 under the usual 022),
    like the charts matplotlib writes next to it: not mkstemp's 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the kernel applies umask
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def content_hash(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(8, "little"))
        digest.update(chunk)
    return digest.hexdigest()[:16]
