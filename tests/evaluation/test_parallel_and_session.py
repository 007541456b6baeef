from __future__ import annotations

from dataclasses import replace

import pytest

from llamos_gateway.defense import Defense
from llamos_gateway.errors import InvalidRequest
from llamos_gateway.evaluation.datasets import Dataset, bundled_task
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier
from llamos_gateway.evaluation.parallel import merge, shard
from llamos_gateway.evaluation.runner import EvalOptions, evaluate
from llamos_gateway.evaluation.session import TargetSpec, open_session, parse_defenses
from llamos_gateway.settings import Settings
from tests.evaluation.conftest import RestoringPurifier, right_answers


@pytest.mark.slow
async def test_shards_merge_to_the_single_process_numbers(
        classifier: LocalSentimentClassifier, sst2: Dataset, restorer: RestoringPurifier) -> None:
    data = right_answers(classifier, sst2, 5, skip=20)
    data = replace(data, examples=(*data.examples, sst2.examples[1]))  # plus one it gets wrong
    options = EvalOptions(recipes=("deepwordbug",), seed=3)
    whole = await evaluate(data, classifier, Defense(restorer), ["restore"], options)
    parts = [await evaluate(shard(data, i, 2), classifier, Defense(restorer), ["restore"], options)
             for i in range(2)]
    merged = merge(parts, wall_s=1.0)
    assert merged.n == whole.n == 6 and merged.clean_accuracy == pytest.approx(whole.clean_accuracy)
    for a, b in zip(merged.runs, whole.runs, strict=True):
        assert (a.recipe, a.defense, a.mode) == (b.recipe, b.defense, b.mode)
        assert (a.succeeded, a.failed, a.skipped, a.queries) == (b.succeeded, b.failed, b.skipped,
                                                                b.queries)
        assert (sorted(o.adversarial for o in a.examples)
                == sorted(o.adversarial for o in b.examples))


def test_parse_defenses() -> None:
    assert parse_defenses("lexical, tiered") == ("lexical", "tiered")
    assert parse_defenses("none") == ()
    with pytest.raises(InvalidRequest, match="unknown defense 'magic'"):
        parse_defenses("magic")


def test_target_spec_picks_the_path() -> None:
    assert TargetSpec("local/sst2-sentiment").resolved_via == "local"
    assert TargetSpec("gpt-4o-mini").resolved_via == "gateway"
    assert TargetSpec("gpt-4o-mini", via="http://127.0.0.1:8000/v1").resolved_via.startswith("http")


async def test_only_the_local_model_runs_without_the_gateway() -> None:
    with pytest.raises(InvalidRequest, match="only local/sst2-sentiment runs without"):
        async with open_session(Settings(), TargetSpec("gpt-4o-mini", via="local"),
                                bundled_task("sst2"), ()):
            pass
    with pytest.raises(InvalidRequest, match="answers negative/positive"):
        async with open_session(Settings(), TargetSpec("local/sst2-sentiment"),
                                bundled_task("rte"), ()):
            pass
    with pytest.raises(InvalidRequest, match="--via must be"):
        async with open_session(Settings(), TargetSpec("gpt-4o-mini", via="ftp://x"),
                                bundled_task("sst2"), ()):
            pass
