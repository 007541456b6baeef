import pytest

from llamos_gateway.lexical import LexicalPurifier, compounds
from llamos_gateway.lexical.lexicon import Lexicon


def test_a_moved_hyphen_is_put_back_only_when_a_part_is_unknown(lexicon: Lexicon) -> None:
    known = lexicon.is_known
    assert compounds.shifted("fisho-ut-of-water", known) == "fish-out-of-water"
    assert compounds.shifted("s-oinept", known) == "so-inept"
    assert not compounds.broken("fly-on-the-wall", known)
    assert not compounds.broken("multi-dimensional", known)
    assert compounds.broken("s-oinept", known)


def test_the_one_unknown_part_is_found_with_its_neighbours(lexicon: Lexicon) -> None:
    part = compounds.unknown_part("less-tXan-objective", lexicon.is_known)
    assert part == compounds.Part(at=1, left="less", right="objective")
    assert compounds.unknown_part("sxo-inpet", lexicon.is_known) is None  # two unknown


@pytest.mark.parametrize(("text", "clean", "rule"), [
    ("a cookie-cuttr , fisho-ut-of-water movie", "a cookie-cutter , fish-out-of-water movie",
     "spelling"),
    ("a hNeavy-handed and s-oinept comedy", "a heavy-handed and so-inept comedy", None),
    ("a hDlf-hearted effort", "a half-hearted effort", "case+spelling"),
])
def test_broken_compounds_are_repaired(purifier: LexicalPurifier, text: str, clean: str,
                                       rule: str | None) -> None:
    result = purifier.purify_text(text)
    assert result.purified == clean and result.suspicious
    assert rule is None or all(edit.rule == rule for edit in result.edits)


@pytest.mark.parametrize("text", [
    "the fly-on-the-wall method and the docu-makers , a sold-out concept",
    "'70s european-set spy pictures , a ham-fisted , x-rated , self-important pre-teen romp",
    "the Rolls-Royce and Coca-Cola ads , a Jean-Luc Godard homage",
])
def test_sound_compounds_stay(purifier: LexicalPurifier, text: str) -> None:
    assert purifier.purify_text(text).purified == text
