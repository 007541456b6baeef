"""Template files of the corpus (`data/corpus/*.yaml`) and their slot filling.

A template is a text with slots: `⟦name⟧` picks one value of the file's `slots[name]` (values
may hold slots themselves), `⟦int:a:b⟧` draws a whole number from a to b, and
`⟦fake:method⟧` / `⟦fake@xx_YY:method:key=value⟧` calls faker in the file's locale or the
one named. The brackets (U+27E6, U+27E7) never occur in the texts themselves, so code and
markup in a template need no escaping.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from llamos_gateway.corpus.sources import Fakes

_SLOT = re.compile(r"⟦([^⟦⟧]+)⟧")
_MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class TemplateFile:
    """One YAML file: its name (relative to `data/corpus`), locale, slots and templates."""

    name: str
    locale: str
    slots: dict[str, tuple[str, ...]]
    templates: tuple[str, ...]
    sha256: str


def load(name: str) -> TemplateFile:
    raw = (resources.files("llamos_gateway") / "data" / "corpus" / name).read_bytes()
    doc: dict[str, Any] = yaml.safe_load(raw)
    slots = {key: tuple(str(v) for v in values) for key, values in (doc.get("slots") or {}).items()}
    return TemplateFile(name=name, locale=str(doc.get("locale", "en_US")), slots=slots,
                        templates=tuple(str(t) for t in doc["templates"]),
                        sha256=hashlib.sha256(raw).hexdigest())


def fill(template: str, source: TemplateFile, rng: random.Random, fakes: Fakes) -> str:
    """`template` with every slot replaced, left to right, drawing from `rng` and `fakes`."""
    text = template
    for _ in range(_MAX_DEPTH):
        if "⟦" not in text:
            return text
        text = _SLOT.sub(lambda m: _value(m.group(1), source, rng, fakes), text)
    raise ValueError(f"{source.name}: slots nested too deep in {template!r}")


def _value(slot: str, source: TemplateFile, rng: random.Random, fakes: Fakes) -> str:
    if slot.startswith("int:"):
        _, low, high = slot.split(":")
        return str(rng.randint(int(low), int(high)))
    if slot.startswith("fake"):
        head, _, rest = slot.partition(":")
        locale = head.partition("@")[2] or source.locale
        method, *args = rest.split(":")
        kwargs = dict(arg.split("=", 1) for arg in args)
        return fakes.call(locale, method, kwargs)
    if slot not in source.slots:
        raise ValueError(f"{source.name}: unknown slot {slot!r}")
    return rng.choice(source.slots[slot])


def expand(source: TemplateFile, n: int, rng: random.Random, fakes: Fakes,
           max_tries: int = 50) -> list[str]:
    """`n` distinct texts, each template used about equally often (cycled in shuffled order)."""
    seen: set[str] = set()
    out: list[str] = []
    order = list(source.templates)
    tries = 0
    while len(out) < n and tries < n * max_tries:
        rng.shuffle(order)
        for template in order:
            tries += 1
            text = fill(template, source, rng, fakes)
            if text not in seen:
                seen.add(text)
                out.append(text)
            if len(out) == n:
                break
    return out
