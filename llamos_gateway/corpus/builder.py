"""The realistic evaluation corpus: clean texts of several domains, built offline and seeded.

`build(seed, per_domain)` returns the same texts on every machine with the same faker and
Python versions (both are pinned in the manifest): templates written for this project
(`data/corpus/*.yaml`) filled with faker values, the Python standard library's docstrings
and short functions, and GLUE RTE sentences (news prose). All texts are in Unicode NFC.
"""

from __future__ import annotations

import enum
import hashlib
import json
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llamos_gateway.corpus import sources, templates
from llamos_gateway.corpus.sources import Fakes

CORPUS_VERSION = 1
SEED = 13
PER_DOMAIN = 400


class Domain(enum.StrEnum):
    CHAT = "chat"          # conversational English: slang, abbreviations, emoji
    CODE = "code"          # code blocks and inline code, shell, SQL, regexes
    MARKUP = "markup"      # HTML/XML, Markdown, JSON, YAML, TOML, INI, CSV, LaTeX
    ENTITIES = "entities"  # URLs, e-mails, paths, versions, numbers with units, percent
    NAMES = "names"        # names and technical jargon
    LANGUAGES = "languages"  # French, German, Spanish, Russian, Chinese, Japanese, Arabic
    NEWS = "news"          # GLUE RTE sentences


LANGUAGES = ("fr", "de", "es", "ru", "zh", "ja", "ar")


@dataclass(frozen=True, slots=True)
class Text:
    id: str
    domain: str
    language: str
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class Corpus:
    texts: tuple[Text, ...]
    manifest: dict[str, Any]

    def domain(self, domain: Domain | str) -> list[Text]:
        return [t for t in self.texts if t.domain == domain]

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "corpus.jsonl").open("w", encoding="utf-8") as handle:
            for text in self.texts:
                handle.write(json.dumps(asdict(text), ensure_ascii=False) + "\n")
        (folder / "manifest.json").write_text(json.dumps(self.manifest, indent=2) + "\n",
                                              encoding="utf-8")


def build(seed: int = SEED, per_domain: int = PER_DOMAIN) -> Corpus:
    """Every domain's texts, in domain order; the manifest pins what they were made from."""
    fakes = Fakes(seed)
    files: dict[str, str] = {}
    parts: list[Text] = []
    for domain in Domain:
        for language, source, body in _domain(domain, seed, per_domain, fakes, files):
            text = unicodedata.normalize("NFC", body)
            parts.append(Text(f"{domain}-{len(parts):05d}", domain.value, language, source, text))
    digest = hashlib.sha256("\x00".join(t.text for t in parts).encode()).hexdigest()
    manifest = _manifest(seed, per_domain, parts, files, fakes, digest)
    return Corpus(tuple(parts), manifest)


def _domain(domain: Domain, seed: int, n: int, fakes: Fakes,
            files: dict[str, str]) -> list[tuple[str, str, str]]:
    rng = sources.rng(seed, domain.value)

    def from_file(name: str, count: int, language: str = "en") -> list[tuple[str, str, str]]:
        source = templates.load(name)
        files[name] = source.sha256
        return [(language, name, t) for t in templates.expand(source, count, rng, fakes)]

    if domain is Domain.CHAT:
        return from_file("chat.yaml", n)
    if domain is Domain.ENTITIES:
        return from_file("entities.yaml", n)
    if domain is Domain.CODE:
        written = from_file("code.yaml", n - n // 4)
        functions = rng.sample(sources.stdlib_functions(), n // 4)
        return written + [("en", "stdlib-source", _present_code(f, rng)) for f in functions]
    if domain is Domain.MARKUP:
        written = from_file("markup.yaml", n - n // 4)
        return written + [("en", "faker-json", _json_document(rng, fakes)) for _ in range(n // 4)]
    if domain is Domain.NAMES:
        written = from_file("names.yaml", n - n // 3)
        docs = rng.sample(sources.stdlib_docstrings(), n // 3)
        return written + [("en", "stdlib-docstring", d) for d in docs]
    if domain is Domain.LANGUAGES:
        share = -(-n // len(LANGUAGES))
        return [row for lang in LANGUAGES
                for row in from_file(f"languages/{lang}.yaml", share, lang)]
    sentences, sha = sources.rte_sentences()
    files["glue/rte_validation.jsonl"] = sha
    return [("en", "glue-rte", s) for s in rng.sample(sentences, min(n, len(sentences)))]


_CODE_ASKS = ("What does this function do?", "Can you add tests for this?",
              "Is there a bug here?", "Explain this line by line please:",
              "How would you write this in Go?", "Why is this faster than a loop?")


def _present_code(source: str, rng: Any) -> str:
    """A standard-library function as a user would paste it: fenced with a question, fenced
    alone, or bare."""
    style = rng.randrange(3)
    if style == 0:
        return f"{rng.choice(_CODE_ASKS)}\n```python\n{source}\n```"
    if style == 1:
        return f"```python\n{source}\n```"
    return source


def _json_document(rng: Any, fakes: Fakes) -> str:
    record: dict[str, Any] = {
        "id": rng.randint(1, 99999),
        "name": fakes.call("en_US", "name", {}),
        "email": fakes.call("en_US", "email", {}),
        "active": rng.random() < 0.7,
        "tags": rng.sample(["admin", "beta", "vip", "trial", "staff", "ops"], rng.randint(0, 3)),
        "address": {"street": fakes.call("en_US", "street_address", {}),
                    "city": fakes.call("en_US", "city", {}),
                    "zip": fakes.call("en_US", "zipcode", {})},
        "created_at": fakes.call("en_US", "iso8601", {}),
        "score": round(rng.uniform(0, 100), 2),
        "note": fakes.call("en_US", "sentence", {}) if rng.random() < 0.5 else None,
    }
    keys = list(record)
    chosen = {k: record[k] for k in sorted(rng.sample(keys, rng.randint(3, len(keys))),
                                           key=keys.index)}
    body = json.dumps(chosen, indent=rng.choice([None, 2, 4]), ensure_ascii=rng.random() < 0.5)
    frame = rng.randrange(3)
    if frame == 0:
        return body
    if frame == 1:
        return f"Parse this JSON and tell me the city:\n```json\n{body}\n```"
    return f"Why does my API return this? {body}"


def _manifest(seed: int, per_domain: int, parts: list[Text], files: dict[str, str],
              fakes: Fakes, digest: str) -> dict[str, Any]:
    return {
        "corpus_version": CORPUS_VERSION,
        "seed": seed,
        "per_domain": per_domain,
        "texts": len(parts),
        "texts_sha256": digest,
        "domains": dict(Counter(t.domain for t in parts)),
        "languages": dict(Counter(t.language for t in parts)),
        "sources": dict(Counter(t.source for t in parts)),
        "pinned": {
            "python": sources.python_version(),
            "faker": sources.faker_version(),
            "faker_locales": fakes.locales,
            "stdlib_modules": list(sources.STDLIB_MODULES),
            "files_sha256": dict(sorted(files.items())),
            "apt_packages": [],
        },
        "licenses": {
            "templates": "written for this project (Apache-2.0, as the package)",
            "faker": "MIT (generated values)",
            "python stdlib": "PSF License (docstrings and source of the running Python)",
            "glue-rte": "GLUE RTE validation; see data/glue/README.md",
        },
    }
