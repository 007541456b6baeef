from llamos_gateway.lexical.rewrites import Change, Rewrites, coarsen


def rebuild(rewrites: Rewrites) -> str:
    out, last = [], 0
    for edit in rewrites.edits:
        assert rewrites.original[edit.start:edit.end] == edit.before
        out += [rewrites.original[last:edit.start], edit.after]
        last = edit.end
    return "".join(out) + rewrites.original[last:]


def test_stages_fold_into_changes_of_the_input() -> None:
    r = Rewrites("a g\u200br3at ｇｏｏｄ mоvie")
    r = r.apply([Change(3, 4, "", "invisible")])
    assert r.text == "a gr3at ｇｏｏｄ mоvie"
    i = r.text.index("ｇ")
    r = r.apply([Change(i, i + 4, "good", "nfkc")])
    j, k = r.text.index("gr3at"), r.text.index("mоvie")
    r = r.apply([Change(j, j + 5, "great", "leetspeak"), Change(k, k + 5, "movie", "homoglyph")])
    assert r.text == "a great good movie" == rebuild(r)
    assert [(e.start, e.end, e.rule) for e in r.edits] == [
        (2, 8, "invisible+leetspeak"), (9, 13, "nfkc"), (14, 19, "homoglyph")]
    assert r.source(2, 7) == (2, 8) and r.source(8, 12) == (9, 13)


def test_changes_that_merely_meet_stay_apart() -> None:
    r = Rewrites("flim . :)").apply([Change(0, 4, "film", "spelling"), Change(4, 9, " .", "junk")])
    assert [e.rule for e in r.edits] == ["spelling", "junk"] and r.text == "film ."


def test_a_removal_next_to_a_change_joins_it() -> None:
    r = Rewrites("ab\u200bcd").apply([Change(2, 3, "", "invisible")])
    r = r.apply([Change(0, 2, "AB", "case")])
    assert [(e.start, e.end, e.after) for e in r.edits] == [(0, 3, "AB")]


def test_coarsen_joins_close_changes_of_one_rule() -> None:
    text = "a\u200bb\u200bc" + " " * 20 + "d\u200be"
    changes = [Change(m, m + 1, "", "invisible") for m in (1, 3, 26)]
    out = coarsen(text, changes)
    assert [(c.start, c.end, c.after) for c in out] == [(1, 4, "b"), (26, 27, "")]
