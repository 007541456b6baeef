import pytest

from llamos_gateway.lexical.morphology import derived

KNOWN = {"involving", "strafing", "wrote", "imagine", "commodify", "creep", "debut", "ham",
         "fisted", "big", "clip", "unclassifiable", "exam"}


@pytest.mark.parametrize("word", ["involvingly", "strafings", "cowrote", "reimagine",
                                  "commodified", "creeped", "debuter", "hamfisted", "biggest",
                                  "clipped", "unclassifiably"])
def test_derived_forms(word: str) -> None:
    assert derived(word, KNOWN.__contains__)


@pytest.mark.parametrize("word", ["affeccting", "tukrey", "flim", "crossroods"])
def test_slips_are_not_derived(word: str) -> None:
    assert not derived(word, KNOWN.__contains__)
