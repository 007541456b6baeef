from llamos_gateway.lexical.unicode import normalise


def test_a_deletion_pair_removes_the_control_and_the_character_it_erases() -> None:
    norm = normalise("d \x08etailed plan")  # the reader sees "detailed plan"
    assert norm.text == "detailed plan"
    (edit,) = norm.rewrites.edits
    assert (edit.before, edit.after, edit.rule) == (" \x08", "", "deletion")


def test_delete_erases_like_backspace() -> None:
    assert normalise("goX\x7fod").text == "good"


def test_a_run_of_erasers_erases_as_many_characters() -> None:
    assert normalise("goodbad\x08\x08\x08").text == "good"


def test_erasers_never_cross_a_line_break_or_the_start() -> None:
    assert normalise("\x08hello").text == "hello"
    assert normalise("one\n\x08\x08two").text == "one\ntwo"


def test_pairs_close_together_are_one_edit() -> None:
    norm = normalise("aX\x08bY\x08c")
    assert norm.text == "abc" and len(norm.rewrites.edits) == 1
