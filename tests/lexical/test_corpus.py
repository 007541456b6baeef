"""The realistic corpus, its perturbation suite and the PromptAttack-style generator; and the
property that purifying twice equals purifying once, over the whole corpus."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from llamos_gateway.corpus import LANGUAGES, Corpus, Domain, build
from llamos_gateway.corpus.__main__ import main
from llamos_gateway.corpus.perturbations import GROUPS, Kind, suite
from llamos_gateway.corpus.promptattack import Style, perturbations
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.lexical.bidi import shown


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return build()


def test_every_domain_and_language_has_a_few_hundred_texts(corpus: Corpus) -> None:
    for domain in Domain:
        assert len(corpus.domain(domain)) >= 300, domain
    languages = {t.language for t in corpus.domain(Domain.LANGUAGES)}
    assert languages == set(LANGUAGES)
    assert len(corpus.texts) >= 2500
    assert len({t.text for t in corpus.texts}) == len(corpus.texts)


def test_the_manifest_pins_what_the_texts_were_made_from(corpus: Corpus) -> None:
    pinned = corpus.manifest["pinned"]
    assert pinned["faker"] and pinned["python"] and pinned["files_sha256"]
    assert corpus.manifest["texts"] == len(corpus.texts)
    assert corpus.manifest["domains"] == {d.value: len(corpus.domain(d)) for d in Domain}


def test_the_build_is_seeded_and_reproducible() -> None:
    first, second, other = build(per_domain=20), build(per_domain=20), build(seed=7, per_domain=20)
    assert first.texts == second.texts
    assert first.manifest["texts_sha256"] == second.manifest["texts_sha256"]
    assert first.manifest["texts_sha256"] != other.manifest["texts_sha256"]


def test_the_command_writes_corpus_manifest_and_suite(tmp_path: Path) -> None:
    assert main(["--out", str(tmp_path), "--per-domain", "10"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    perturbed = [json.loads(line)
                 for line in (tmp_path / "perturbed.jsonl").read_text().splitlines()]
    assert len(rows) == json.loads((tmp_path / "manifest.json").read_text())["texts"]
    assert perturbed and {"clean", "attacked", "kind"} <= perturbed[0].keys()
    assert main(["--out", str(tmp_path), "--per-domain", "10", "--check"]) == 0


def test_the_suite_plants_every_kind_and_bidi_rows_look_clean(corpus: Corpus) -> None:
    rows = suite(corpus, 13, per_kind=20)
    assert {r.kind for r in rows} == {k.value for k in Kind}
    assert all(r.attacked != r.clean for r in rows)
    for row in rows:
        if row.kind.startswith("bidi"):
            assert shown(row.attacked) == shown(row.clean)
    assert set(GROUPS) >= {"deletions", "bidi", "zalgo", "invisible", "confusables"}


def test_promptattack_styles() -> None:
    sentences = ["The capital of Slovenia is Ljubljana, with 270,000 inhabitants.",
                 "a charming and often affecting journey ."]
    for style in Style:
        rows = perturbations(sentences, style, 13)
        assert rows and all(r["kind"] == style.value and r["attacked"] != r["clean"] for r in rows)
    handles = perturbations(sentences, Style.S1, 13)
    assert all("@" in r["attacked"] for r in handles)


def test_purifying_twice_equals_purifying_once_over_the_whole_corpus(
        corpus: Corpus, purifier: LexicalPurifier) -> None:
    for text in corpus.texts:
        once = purifier.purify_text(text.text).purified
        assert purifier.purify_text(once).purified == once, text.id


def test_purifying_twice_equals_purifying_once_over_the_suite(
        corpus: Corpus, purifier: LexicalPurifier) -> None:
    rows = suite(corpus, 13, per_kind=40)
    for row in random.Random(13).sample(rows, min(400, len(rows))):
        once = purifier.purify_text(row.attacked).purified
        assert purifier.purify_text(once).purified == once, (row.kind, row.id)
