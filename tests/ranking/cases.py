"""Texts the ranked backend must leave alone, whichever rule decides."""

MUST_STAY = (
    "stanley kubrick and maud adams star in it",        # names
    "a marvel like none you 've seen .",                # a known false friend (none/one)
    "lol ngl that movie was lowkey fire tbh",           # slang
    "the film 's verisimilitude is uncanny",            # rare, correct words
    "a lugubrious , plodding affair",
    "the sesquipedalian prose never germinates",
    "an opera that leaves no heartstring untugged",     # unknown, and one letter from a word
    "def main(): return 42 if ok else None",            # code
    "Der Film war gut und die Musik auch",              # another language
)
