from __future__ import annotations

from pathlib import Path

import pytest

from llamos_gateway.errors import InvalidRequest, NotFound
from llamos_gateway.evaluation.datasets import Dataset, load_dataset


def test_bundled_sst2_has_the_full_validation_split(sst2: Dataset) -> None:
    assert len(sst2) == 872
    assert sst2.task.labels == ("negative", "positive")
    assert "positive" in sst2.task.description
    assert sst2.examples[0].input == "it 's a charming and often affecting journey . "


def test_bundled_rte_gives_sentence_pairs() -> None:
    rte = load_dataset("rte")
    assert len(rte) == 277
    assert rte.task.labels == ("entailment", "not_entailment")
    assert isinstance(rte.examples[0].input, tuple) and len(rte.examples[0].input) == 2


def test_select_is_seeded_and_keeps_file_order(sst2: Dataset) -> None:
    a, b, c = sst2.select(10, seed=1), sst2.select(10, seed=1), sst2.select(10, seed=2)
    assert [e.idx for e in a.examples] == [e.idx for e in b.examples]
    assert [e.idx for e in a.examples] != [e.idx for e in c.examples]
    assert [e.idx for e in a.examples] == sorted(e.idx for e in a.examples)


def test_user_csv_with_column_mapping(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text("review,stars\ngreat film,good\ndull and long,bad\n", encoding="utf-8")
    data = load_dataset(str(path), text_columns=("review",), label_column="stars",
                        labels=("bad", "good"))
    assert [(e.input, e.label) for e in data.examples] == [("great film", 1), ("dull and long", 0)]


def test_user_jsonl_infers_labels(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": 0}\n', encoding="utf-8")
    assert load_dataset(str(path)).task.labels == ("0", "1")


def test_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="dataset not found"):
        load_dataset(str(tmp_path / "nope.csv"))


def test_missing_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("sentence,label\nhi,0\n", encoding="utf-8")
    with pytest.raises(InvalidRequest, match="lacks column"):
        load_dataset(str(path), text_columns=("review",))
