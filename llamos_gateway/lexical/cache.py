"""A small on-disk cache for compiled lexicon parts.

Building the parts from the raw dictionaries takes seconds; loading a compiled part with
`marshal` takes a fraction of that. The caller names each file with a hash of its sources
and the format version, so changed dictionaries or code simply miss the cache. Files are
written atomically (temporary file + rename); an unreadable file is rebuilt, and a
read-only or full disk only costs the next start its build time.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from llamos_gateway.files import cache_dir

T = TypeVar("T")


def default_cache_dir() -> Path:
    """`lexicon/` in the package's cache directory (`files.cache_dir`: `$LLAMOS_CACHE_DIR`,
    else `$XDG_CACHE_HOME/llamos`, else `~/.cache/llamos`), created when first written."""
    return cache_dir("lexicon", create=False)


def cached(path: Path | None, build: Callable[[], T]) -> T:
    """Load `path` if it holds a compiled part, else build it and try to store it there."""
    if path is None:
        return build()
    try:
        with path.open("rb") as handle:
            value: T = marshal.load(handle)
        return value
    except (OSError, EOFError, ValueError, TypeError):
        pass
    value = build()
    _write(path, value)
    return value


def _write(path: Path, value: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            marshal.dump(value, handle)
        os.replace(tmp, path)
    except (OSError, ValueError):
        Path(tmp).unlink(missing_ok=True)
