from llamos_gateway.lexical.unicode import normalise


def test_ascii_comes_back_as_is() -> None:
    norm = normalise("it 's a charming journey . ")
    assert norm.text == "it 's a charming journey . " and norm.edits == () and norm.invisible == 0


def test_invisible_and_bidi_controls_are_removed_with_their_positions() -> None:
    text = "bad\u200b mo\u00advie \u202eevil\u202c"
    norm = normalise(text)
    assert norm.text == "bad movie evil"
    assert [(e.start, e.before, e.rule) for e in norm.edits] == [
        (3, "\u200b", "invisible"), (7, "\u00ad", "invisible"), (12, "\u202e", "invisible"),
        (17, "\u202c", "invisible")]
    assert norm.invisible == 4


def test_fullwidth_letters_fold_by_nfkc_and_map_back_to_the_input() -> None:
    text = "a ｇｏｏｄ film"
    norm = normalise(text)
    assert norm.text == "a good film"
    (edit,) = norm.edits
    assert (edit.start, edit.end, edit.after, edit.rule) == (2, 6, "good", "nfkc")
    assert norm.span(2, 6) == (2, 6)


def test_joiners_in_emoji_and_marks_in_hebrew_stay() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert normalise(family).text == family
    hebrew = "\u05e9\u05dc\u05d5\u05dd\u200f world"
    assert normalise(hebrew).text == hebrew


def test_combining_accents_compose() -> None:
    assert normalise("cafe\u0301").text == "café"
