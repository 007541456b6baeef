"""Is a candidate a rewrite of its original at all?

An attacker model asked for a new sentence often writes about the task instead ("The original
sentence can be reorganized ..."), answers it ("positive"), refuses, returns nothing, or
returns something of another length altogether. None of these is an adversarial example,
whatever the classifier makes of it. `rewrite_problem` names what is wrong, or None;
`content_overlap` is the share of the original's content words the candidate keeps (a typo'd
word still counts as kept).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
STOPWORDS = frozenset("""
a an the and or but nor so yet for of to in on at by with from into onto over under about as
is are was were be been being am do does did doing have has had having will would shall should
can could may might must it its it's this that these those there here he she they we you i me
him her them us my your his their our mine yours what which who whom whose when where why how
all any both each few more most other some such no not only own same than too very s t just
if then else also up down out off again further once 's n't
""".split())
REFUSAL = re.compile(
    r"\b(?:i'?m sorry|i am sorry|sorry,? (?:but )?i|i can(?:not|'t| not)|i won'?t|as an ai|"
    r"i(?:'m| am) (?:unable|not able)|unable to (?:help|assist|comply|fulfil))", re.IGNORECASE)
META = re.compile(
    r"\b(?:(?:original|new|rewritten|modified|revised|paraphrased|given|following|above|"
    r"input|adversarial)\s+(?:sentence|text|review|version|premise)s?|"
    r"here(?:'s| is| are)\b|sentence (?:can|could|should|would) be|"
    r"(?:rewrite|rewritten|rephrase|rephrased|paraphrase|paraphrased|reorganiz\w*) "
    r"(?:the|this|your|it|to)\b|"
    r"(?:improve|improves|improved) (?:its|the) (?:clarity|grammar)|"
    r"(?:classified|labell?ed|categori[sz]ed) as|sentiment (?:of|is)|"
    r"(?:new|this) sentence|the sentence)", re.IGNORECASE)
ANSWER = re.compile(r"^(?:the\s+)?(?:answer|label|sentiment|classification|output)\s*(?:is|:)",
                    re.IGNORECASE)
ANSWER_WORDS = frozenset({"positive", "negative", "neutral", "entailment", "not_entailment",
                          "contradiction", "yes", "no"})


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def _kept(word: str, candidate: Collection[str]) -> bool:
    """The word, or a typo or inflection of it (similar spelling), is among the candidate's."""
    if word in candidate:
        return True
    return any(difflib.SequenceMatcher(a=word, b=c, autojunk=False).ratio() >= 0.75
               or (len(word) >= 5 and c[:5] == word[:5]) for c in candidate)


def content_overlap(original: str, candidate: str) -> float | None:
    """Share of the original's content words the candidate keeps; None when it has none."""
    theirs = content_words(original)
    if not theirs:
        return None
    mine = set(words(candidate))
    return sum(_kept(w, mine) for w in theirs) / len(theirs)


def _new(pattern: re.Pattern[str], original: str, candidate: str) -> bool:
    """The pattern reads in the candidate and not in the original (a review may say "here is")."""
    return bool(pattern.search(candidate)) and not pattern.search(original)


def rewrite_problem(original: str, candidate: str, *, answers: Collection[str] = ANSWER_WORDS,
                    max_length_ratio: float = 2.0) -> str | None:
    """"empty", "refusal", "answer", "meta" or "length" when the candidate is no rewrite of the
    original; None when it may be one."""
    mine, theirs = words(candidate), words(original)
    if not mine:
        return "empty"
    if _new(REFUSAL, original, candidate):
        return "refusal"
    if (set(mine) <= set(answers) and not set(theirs) <= set(answers)) or \
            _new(ANSWER, original, candidate.strip()):
        return "answer"
    if _new(META, original, candidate):
        return "meta"
    longest, shortest = max(len(mine), len(theirs)), min(len(mine), len(theirs))
    if longest - shortest > 2 and longest > max_length_ratio * shortest:
        return "length"
    return None
