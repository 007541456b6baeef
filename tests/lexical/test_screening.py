from llamos_gateway.lexical.screening import Signals, screen


def test_clean_text_scores_zero() -> None:
    verdict = screen(Signals(words=10))
    assert verdict.score == 0.0 and verdict.reasons == ("screen_clean",)


def test_one_strong_signal_is_enough_weak_ones_add_up() -> None:
    assert screen(Signals(words=10, invisible=1)).score >= 0.9
    assert screen(Signals(words=10, unknown=1)).score < 0.5
    assert screen(Signals(words=10, unknown=4)).score >= 0.5
    assert screen(Signals(words=10, handle=True, spelling=1)).reasons == (
        "screen_handle", "screen_spelling")


def test_a_repaired_stray_capital_is_strong_evidence() -> None:
    verdict = screen(Signals(words=10, case=1))
    assert verdict.score >= 0.5 and verdict.reasons == ("screen_case",)
