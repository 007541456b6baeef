from __future__ import annotations

import pytest

from llamos_gateway.errors import InvalidRequest
from llamos_gateway.evaluation.datasets import bundled_task
from llamos_gateway.evaluation.parallel import split
from llamos_gateway.evaluation.session import TargetSpec, open_session, parse_defenses
from llamos_gateway.settings import Settings


def test_split_balances_recipes_over_workers() -> None:
    groups = split(("deepwordbug", "pruthi", "homoglyph", "invisible"), 2)
    assert sorted(r for g in groups for r in g) == ["deepwordbug", "homoglyph", "invisible", "pruthi"]
    assert ("pruthi",) in groups  # the heaviest recipe gets a worker of its own
    assert split(("deepwordbug",), 4) == [("deepwordbug",)]


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
    with pytest.raises(InvalidRequest, match="--via must be"):
        async with open_session(Settings(), TargetSpec("gpt-4o-mini", via="ftp://x"),
                                bundled_task("sst2"), ()):
            pass
