"""One cache directory for everything the package keeps on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamos_gateway.evaluation.query_cache import DiskQueryCache
from llamos_gateway.files import cache_dir
from llamos_gateway.lexical.cache import default_cache_dir


def test_every_cache_honours_llamos_cache_dir(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    monkeypatch.setenv("LLAMOS_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c" / "lexicon"  # it used to ignore the variable
    assert not (tmp_path / "c" / "lexicon").exists()  # created when first written
    assert cache_dir("models") == tmp_path / "c" / "models" and cache_dir("models").is_dir()
    queries = DiskQueryCache()
    try:
        assert queries.path.parent == tmp_path / "c" / "queries"
    finally:
        queries.close()


def test_xdg_cache_home_is_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LLAMOS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "llamos" / "lexicon"
    assert cache_dir("nltk_data", create=False) == tmp_path / "llamos" / "nltk_data"
