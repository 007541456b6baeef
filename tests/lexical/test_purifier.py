import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llamos_gateway.defense.protocol import Purifier, PurifyRequest
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.lexical.purifier import RULES_VERSION

SST_CLEAN = [
    "it 's a charming and often affecting journey . ",
    "unflinchingly bleak and desperate ",
    "the acting , costumes , music , cinematography and sound are all astounding given the "
    "production 's austere locales . ",
    "you do n't have to know about music to appreciate the film 's easygoing blend . ",
    "( w ) hile long on amiable monkeys and worthy environmentalism , jane goodall 's wild "
    "chimpanzees is short on the thrills . ",
    "his healthy sense of satire is light and fun ... ",
]


@pytest.mark.parametrize("text", SST_CLEAN)
def test_clean_sst_text_comes_back_byte_for_byte(purifier: LexicalPurifier, text: str) -> None:
    result = purifier.purify_text(text)
    assert result.purified == text and result.edits == () and not result.suspicious


@pytest.mark.parametrize("text", [
    "Ask Dr. Nguyen at IBM about the RFC 9110 draft, v2.3.1 and the 4x4 on 2nd Ave.",
    "see https://exmaple.com/a?b=c or mail ops@exmaple.org",
    "run `pip instal llamos` then ./scripts/strat.sh in C:\\Users\\bob",
    "#throwbackthursday with @jonny and 1990s synthpop, 24/7, 3d, mp3",
    "Das ist ein schönes Wochenende und wir gehen heute Abend ins Kino",
    "das ist ein schones wochenende und wir gehen heute abend ins kino",
    "el gato esta en la casa con mi hermano pequeno",
    "Привет, как дела? Это очень хороший фильм",
    "カフェで会いましょう",
    "the x potion gives blossom , bubbles and buttercup supernatural powers",
])
def test_names_numbers_urls_code_and_other_languages_stay(purifier: LexicalPurifier,
                                                          text: str) -> None:
    assert purifier.purify_text(text).purified == text


@pytest.mark.parametrize(("text", "clean", "rule"), [
    ("a trulу grеat film", "a truly great film", "homoglyph"),
    ("а great film", "a great film", "homoglyph"),
    ("a ｇｒｅａｔ film", "a great film", "homoglyph"),
    ("a gr\u200beat fi\u00adlm", "a great film", "invisible"),
    ("a g00d f1lm", "a good film", "leetspeak"),
    ("7h3 best", "the best", "leetspeak"),
    ("a baaaaad film", "a bad film", "repeats"),
    ("a sometimes tedious flim .", "a sometimes tedious film .", "spelling"),
    ("it 's a charming and often affeccting journey .", "it 's a charming and often "
     "affecting journey .", "spelling"),
    ("a tedious flim and a poissed fancful", "a tedious film and a poised fanciful",
     "spelling"),
    ("a tender , heartfelt family drama ..", "a tender , heartfelt family drama .",
     "junk_suffix"),
    ("puts a human face on it . @me4n6e", "puts a human face on it .", "junk_handle"),
])
def test_each_rule_repairs_its_perturbation(purifier: LexicalPurifier, text: str, clean: str,
                                            rule: str) -> None:
    result = purifier.purify_text(text)
    assert result.purified == clean
    assert result.suspicious
    assert any(rule in edit.rule.split("+") for edit in result.edits)


def test_edits_point_into_the_input(purifier: LexicalPurifier) -> None:
    text = "a g\u200br3at mоvie . :)"
    result = purifier.purify_text(text)
    assert result.purified == "a great movie ."
    rebuilt, last = [], 0
    for edit in result.edits:
        assert text[edit.start:edit.end] == edit.before
        rebuilt += [text[last:edit.start], edit.after]
        last = edit.end
    assert "".join(rebuilt) + text[last:] == result.purified


def test_capitalised_words_keep_their_case(purifier: LexicalPurifier) -> None:
    assert purifier.purify_text("G00d Mоrning, Sarah").purified == "Good Morning, Sarah"


async def test_it_is_a_purifier(purifier: LexicalPurifier) -> None:
    assert isinstance(purifier, Purifier)
    result = await purifier.purify(PurifyRequest(text="a tedious flim"))
    assert result.purified == "a tedious film" and result.backend == "lexical"
    assert result.purify_ms > 0


def test_the_cache_identity_names_the_rules_version(purifier: LexicalPurifier) -> None:
    assert f"rules-v{RULES_VERSION}" in purifier.cache_identity


def test_the_threshold_decides_suspicious(purifier: LexicalPurifier) -> None:
    strict = LexicalPurifier(lexicon=purifier._lexicon, screen_threshold=0.99)
    text = "a sometimes tedious flim ."
    assert purifier.purify_text(text).suspicious and not strict.purify_text(text).suspicious


_WORDS = st.sampled_from(["the", "film", "flim", "g00d", "baaad", "mоvie", "it", "'s", ",", ".",
                          "..", ":)", "@fasuv3", "affeccting", "tedious", "hile", "(", ")",
                          "\u200b", "ｇｏｏｄ", "--", "?!", "!", "makhmalbaf", "7h3", "x",
                          "lYacks", "Kbleak", "goOd", "iPhone", "The"])
_TEXTS = st.one_of(
    st.lists(_WORDS, max_size=12).map(" ".join),
    st.lists(_WORDS, max_size=12).map("".join),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_TEXTS)
def test_purifying_twice_equals_purifying_once(purifier: LexicalPurifier, text: str) -> None:
    once = purifier.purify_text(text).purified
    assert purifier.purify_text(once).purified == once


@pytest.mark.parametrize("text", ["a" * 20_000, " " * 20_000, " " * 20_000 + "@a1b2c3",
                                  "@a1 " * 2_000, "(" * 10_000, "x/" * 10_000])
def test_degenerate_inputs_stay_cheap_and_safe(purifier: LexicalPurifier, text: str) -> None:
    # these once took quadratic time or exhausted memory (edit sets of a 20k-letter "word")
    result = purifier.purify_text(text)
    assert len(result.purified) <= len(text)
    assert purifier.purify_text(result.purified).purified == result.purified


async def test_long_texts_are_purified_off_the_event_loop(purifier: LexicalPurifier) -> None:
    text = "a sometimes tedious flim . " * 200
    result = await purifier.purify(PurifyRequest(text=text))
    assert result.purified == text.replace("flim", "film")
