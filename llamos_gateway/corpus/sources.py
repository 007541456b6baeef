"""The third-party sources of the corpus: faker (the one module that imports it), the Python
standard library's own docstrings and source, and the GLUE data bundled with the package.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import inspect
import json
import platform
import random
import re
from importlib import resources
from typing import Any

from llamos_gateway.errors import LlamosError


class CorpusUnavailable(LlamosError):
    """A source the corpus is built from is not installed."""

    code = "corpus_unavailable"


def faker_version() -> str:
    return _faker().VERSION  # type: ignore[no-any-return]


def _faker() -> Any:
    try:
        import faker
    except ImportError as exc:
        raise CorpusUnavailable(
            "the evaluation corpus needs faker: pip install 'llamos-gateway[corpus]'") from exc
    return faker


class Fakes:
    """One seeded faker per locale. Each locale's generator is seeded from the corpus seed and
    the locale, so a domain's texts do not depend on which other locales were used first."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._by_locale: dict[str, Any] = {}

    def call(self, locale: str, method: str, kwargs: dict[str, str]) -> str:
        fake = self._by_locale.get(locale)
        if fake is None:
            fake = _faker().Faker(locale)
            fake.seed_instance(_derive(self._seed, f"faker:{locale}"))
            self._by_locale[locale] = fake
        if method in _DATES:  # faker's own dates run up to "now": the corpus would drift
            moment = fake.date_time_between(start_date=_FIRST_DAY, end_date=_LAST_DAY)
            return str(moment.strftime(kwargs.get("pattern", _DATES[method])))
        args = {k: int(v) if v.lstrip("-").isdigit() else v for k, v in kwargs.items()}
        return str(getattr(fake, method)(**args))

    @property
    def locales(self) -> list[str]:
        return sorted(self._by_locale)


_FIRST_DAY = datetime.datetime(2000, 1, 1)
_LAST_DAY = datetime.datetime(2025, 12, 31)
_DATES = {"date": "%Y-%m-%d", "time": "%H:%M:%S", "iso8601": "%Y-%m-%dT%H:%M:%S",
          "month_name": "%B", "day_of_week": "%A", "year": "%Y"}


def _derive(seed: int, label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{label}".encode()).digest()[:8], "big")


def rng(seed: int, label: str) -> random.Random:
    """A generator for one part of the corpus, independent of the other parts."""
    return random.Random(_derive(seed, label))


# Modules whose docstrings and small functions are read; all exist on every platform.
STDLIB_MODULES = (
    "abc", "argparse", "ast", "base64", "bisect", "calendar", "collections", "colorsys",
    "configparser", "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal",
    "difflib", "email.utils", "enum", "filecmp", "fnmatch", "fractions", "functools",
    "getopt", "glob", "gzip", "hashlib", "heapq", "hmac", "html", "http.cookies", "imaplib",
    "inspect", "ipaddress", "json", "keyword", "linecache", "locale", "logging", "mimetypes",
    "ntpath", "numbers", "operator", "optparse", "pathlib", "pickle", "platform", "posixpath",
    "pprint", "quopri", "queue", "random", "re", "reprlib", "sched", "secrets", "shlex",
    "shutil", "smtplib", "socket", "statistics", "string", "struct", "subprocess",
    "tarfile", "tempfile", "textwrap", "threading", "timeit", "tokenize", "traceback",
    "types", "typing", "urllib.parse", "uuid", "warnings", "weakref", "zipfile",
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def stdlib_docstrings() -> list[str]:
    """First paragraphs of the docstrings of public functions and classes, in module order."""
    out: list[str] = []
    for name, obj in _stdlib_members():
        doc = inspect.getdoc(obj)
        if not doc:
            continue
        first = " ".join(doc.split("\n\n")[0].split())
        if 20 <= len(first) <= 400 and not first.startswith(name.rsplit(".", 1)[-1] + "("):
            out.append(first)
    return list(dict.fromkeys(out))


def stdlib_functions(max_lines: int = 24) -> list[str]:
    """Source code of short public pure-Python functions."""
    out: list[str] = []
    for _, obj in _stdlib_members():
        if not inspect.isfunction(obj):
            continue
        try:
            source = inspect.getsource(obj)
        except (OSError, TypeError):
            continue
        lines = source.count("\n")
        if 3 <= lines <= max_lines:
            out.append(inspect.cleandoc(source) if source.startswith(" ") else source.rstrip("\n"))
    return list(dict.fromkeys(out))


def _stdlib_members() -> list[tuple[str, Any]]:
    members: list[tuple[str, Any]] = []
    for module_name in STDLIB_MODULES:
        module = importlib.import_module(module_name)
        for attr in sorted(vars(module)):
            obj = getattr(module, attr)
            if attr.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                members.append((f"{module_name}.{attr}", obj))
    return members


def python_version() -> str:
    return platform.python_version()


def rte_sentences() -> tuple[list[str], str]:
    """Both sentences of every GLUE RTE validation pair (bundled), and the file's sha256."""
    raw = (resources.files("llamos_gateway") / "data" / "glue"
           / "rte_validation.jsonl").read_bytes()
    texts: list[str] = []
    for line in raw.decode("utf-8").splitlines():
        row = json.loads(line)
        texts.extend([row["sentence1"], row["sentence2"]])
    return list(dict.fromkeys(texts)), hashlib.sha256(raw).hexdigest()
