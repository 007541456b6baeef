"""A seeded perturbation suite over the corpus: bad characters and broken-up words.

Each kind plants what a reader does not see (or reads past) into clean texts; a purifier
is scored on giving the clean text back exactly. Kinds and what they plant:

- `deletion_bs`, `deletion_del`: a random printable character followed by BS (U+0008) or
  DEL (U+007F), one to three times (Boucher et al., "Bad Characters");
- `bidi_swap`: two neighbouring letters stored swapped and shown in order by an override
  inside isolates (the "Bad Characters" swap); `bidi_override`: a word or line stored
  reversed inside RLO ... PDF; `bidi_embedding`, `bidi_isolate`: two or three words stored
  in reverse order, shown in order by LRE embeddings inside an RLO override, or by LRI
  isolates inside an RLI isolate (RLE alone would not reorder them: UAX #9 resolves the
  spaces between left-to-right embeddings as left-to-right). Every planted text is
  checked to look like the clean one (UAX #9, `lexical.bidi.shown`);
- `zalgo_light` (one or two marks on a few letters), `zalgo_medium` (two to five marks on
  every letter of one to three words), `zalgo_heavy` (five to twelve on every letter of
  the text's first 120 letters), marks from U+0300-036F;
- `invisible`: zero-width space/joiners, word joiner, soft hyphen, BOM, LRM/RLM, invisible
  operators inside words (joiners not in joining-script words, LRM/RLM not on lines with
  right-to-left letters: there they are spelling); `joiner_punctuation`: ZWJ/ZWNJ right
  before or after punctuation; `variation_selector`: a selector after a letter that takes
  none; `tatweel`: the Arabic stretch stroke inside Arabic words;
- `confusable`: one or two letters of one to three Latin words replaced by a look-alike
  from Unicode's confusables data (UTS #39);
- `spaced_letters`: one word spelt out with spaces; `inserted_punctuation`: one or two
  words with a punctuation character inside; `random_capitals`: one to three words with
  capitals strewn through them.

Word-level kinds (the last three) take words of prose domains only: code and markup have
no such words to break.
"""

from __future__ import annotations

import enum
import random
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from llamos_gateway.corpus.builder import Corpus, Domain, Text
from llamos_gateway.corpus.sources import rng as seeded
from llamos_gateway.lexical import bidi, scripts
from llamos_gateway.lexical.confusables import Confusables


class Kind(enum.StrEnum):
    DELETION_BS = "deletion_bs"
    DELETION_DEL = "deletion_del"
    BIDI_SWAP = "bidi_swap"
    BIDI_OVERRIDE = "bidi_override"
    BIDI_EMBEDDING = "bidi_embedding"
    BIDI_ISOLATE = "bidi_isolate"
    ZALGO_LIGHT = "zalgo_light"
    ZALGO_MEDIUM = "zalgo_medium"
    ZALGO_HEAVY = "zalgo_heavy"
    INVISIBLE = "invisible"
    JOINER_PUNCTUATION = "joiner_punctuation"
    VARIATION_SELECTOR = "variation_selector"
    TATWEEL = "tatweel"
    CONFUSABLE = "confusable"
    SPACED_LETTERS = "spaced_letters"
    INSERTED_PUNCTUATION = "inserted_punctuation"
    RANDOM_CAPITALS = "random_capitals"


# The groups the targets of issue 13 speak of.
GROUPS: dict[str, tuple[Kind, ...]] = {
    "deletions": (Kind.DELETION_BS, Kind.DELETION_DEL),
    "bidi": (Kind.BIDI_SWAP, Kind.BIDI_OVERRIDE, Kind.BIDI_EMBEDDING, Kind.BIDI_ISOLATE),
    "zalgo": (Kind.ZALGO_LIGHT, Kind.ZALGO_MEDIUM, Kind.ZALGO_HEAVY),
    "invisible": (Kind.INVISIBLE, Kind.JOINER_PUNCTUATION, Kind.VARIATION_SELECTOR,
                  Kind.TATWEEL),
    "confusables": (Kind.CONFUSABLE,),
    "broken_words": (Kind.SPACED_LETTERS, Kind.INSERTED_PUNCTUATION),
    "capitals": (Kind.RANDOM_CAPITALS,),
}
PER_KIND = 300
_PROSE = frozenset([Domain.CHAT, Domain.NAMES, Domain.NEWS, Domain.ENTITIES])
_LATIN_LANGUAGES = frozenset(["en", "fr", "de", "es"])


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    domain: str
    language: str
    kind: str
    clean: str
    attacked: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "domain": self.domain, "language": self.language,
                "kind": self.kind, "clean": self.clean, "attacked": self.attacked}


def suite(corpus: Corpus, seed: int, per_kind: int = PER_KIND,
          kinds: Iterable[Kind] = tuple(Kind)) -> list[Row]:
    """Up to `per_kind` perturbed texts of every kind, seeded per kind."""
    table = Confusables()
    rows: list[Row] = []
    for kind in kinds:
        rng = seeded(seed, f"perturb:{kind}")
        pool = [t for t in corpus.texts if _eligible(kind, t)]
        rng.shuffle(pool)
        made = 0
        for text in pool:
            attacked = perturb(text.text, kind, rng, table)
            if attacked is None or attacked == text.text:
                continue
            rows.append(Row(text.id, text.domain, text.language, kind.value, text.text, attacked))
            made += 1
            if made == per_kind:
                break
    return rows


def _eligible(kind: Kind, text: Text) -> bool:
    if kind is Kind.TATWEEL:
        return _ARABIC_PAIR.search(text.text) is not None
    if kind in (Kind.SPACED_LETTERS, Kind.INSERTED_PUNCTUATION, Kind.RANDOM_CAPITALS):
        return (text.domain in _PROSE or (text.domain == Domain.LANGUAGES
                                          and text.language in _LATIN_LANGUAGES))
    return True


def perturb(text: str, kind: Kind, rng: random.Random, table: Confusables) -> str | None:
    """`text` with one perturbation of `kind`, or None when the text offers no place for it."""
    return _MAKERS[kind](text, rng, table)


# ------------------------------------------------------------------ places to perturb

_LATIN_RUN = re.compile(r"[A-Za-z]{3,}")
_PLAIN_WORD = re.compile(r"(?<![\w@#/.'’-])[A-Za-z]{3,}(?![\w@/'’-]|\.\w)")
_LETTER_PAIR = scripts.compile(r"(?<=\p{L})(?=\p{L})")
_ARABIC_PAIR = scripts.compile(r"(?<=\p{Script=Arabic})(?=\p{Script=Arabic})")
_PUNCTUATION = re.compile(r"[\"'’“”«».,;:!?()\[\]{}-]")


def _spots(pattern: re.Pattern[str] | scripts.Pattern, text: str) -> list[re.Match[str]]:
    return list(pattern.finditer(text))


def _insert(text: str, inserts: list[tuple[int, str]]) -> str:
    out, last = [], 0
    for pos, piece in sorted(inserts):
        out += [text[last:pos], piece]
        last = pos
    return "".join(out) + text[last:]


def _replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, piece in sorted(spans):
        out += [text[last:start], piece]
        last = end
    return "".join(out) + text[last:]


# ------------------------------------------------------------------ bad characters

def _deletion(eraser: str) -> Callable[[str, random.Random, Confusables], str | None]:
    def make(text: str, rng: random.Random, _: Confusables) -> str | None:
        count = rng.randint(1, 3)
        spots = [rng.randrange(len(text) + 1) for _ in range(count)]
        return _insert(text, [(p, rng.choice(string.printable[:95]) + eraser) for p in spots])
    return make


_LRO, _RLO, _PDF, _LRE = "\u202d", "\u202e", "\u202c", "\u202a"
_LRI, _RLI, _PDI = "\u2066", "\u2067", "\u2069"


def _shows_as(attacked: str, clean: str) -> bool:
    return bidi.shown(attacked) == bidi.shown(clean)


def _bidi_swap(text: str, rng: random.Random, _: Confusables) -> str | None:
    spots = [m.start() for m in _LATIN_RUN.finditer(text)]
    if not spots:
        return None
    chosen = sorted(rng.sample(spots, min(len(spots), rng.randint(1, 2))))
    pieces: list[tuple[int, int, str]] = []
    for start in chosen:
        a, b = text[start], text[start + 1]
        pieces.append((start, start + 2, _LRO + _LRI + _RLO + _LRI + b + _PDI + _LRI + a + _PDI
                       + _PDF + _PDI + _PDF))
    attacked = _replace_spans(text, pieces)
    return attacked if _shows_as(attacked, text) else None


def _bidi_override(text: str, rng: random.Random, _: Confusables) -> str | None:
    words = _spots(_LATIN_RUN, text)
    if not words:
        return None
    if rng.random() < 0.25 and "\n" not in text and scripts.RIGHT_TO_LEFT.search(text) is None:
        attacked = _LRI + _RLO + _mirror(text[::-1]) + _PDF + _PDI
    else:
        word = rng.choice(words)
        attacked = (text[:word.start()] + _RLO + word.group()[::-1] + _PDF + text[word.end():])
    return attacked if _shows_as(attacked, text) else None


_MIRROR = str.maketrans("()[]{}<>«»", ")(][}{><»«")


def _mirror(text: str) -> str:
    return text.translate(_MIRROR)


_WORD_RUN = re.compile(r"[A-Za-z]{2,}(?: [A-Za-z]{2,}){1,2}")


def _nested(outer: tuple[str, str], inner: tuple[str, str]) -> Callable[
        [str, random.Random, Confusables], str | None]:
    def make(text: str, rng: random.Random, _: Confusables) -> str | None:
        runs = _spots(_WORD_RUN, text)
        if not runs:
            return None
        run = rng.choice(runs)
        words = run.group().split(" ")
        body = " ".join(inner[0] + w + inner[1] for w in reversed(words))
        attacked = text[:run.start()] + outer[0] + body + outer[1] + text[run.end():]
        return attacked if _shows_as(attacked, text) else None
    return make


_ZALGO_MARKS = [chr(c) for c in range(0x300, 0x370)]


def _marks(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(_ZALGO_MARKS) for _ in range(rng.randint(low, high)))


def _zalgo_light(text: str, rng: random.Random, _: Confusables) -> str | None:
    spots = [m.end() for m in re.finditer(r"[A-Za-z]", text)]
    if len(spots) < 2:
        return None
    chosen = rng.sample(spots, min(len(spots), rng.randint(2, 4)))
    return _insert(text, [(p, _marks(rng, 1, 2)) for p in chosen])


def _zalgo_medium(text: str, rng: random.Random, _: Confusables) -> str | None:
    words = _spots(_LATIN_RUN, text)
    if not words:
        return None
    chosen = rng.sample(words, min(len(words), rng.randint(1, 3)))
    return _insert(text, [(m.start() + i + 1, _marks(rng, 2, 5))
                          for m in chosen for i in range(len(m.group()))])


def _zalgo_heavy(text: str, rng: random.Random, _: Confusables) -> str | None:
    spots = [m.end() for m in re.finditer(r"[^\W\d_]", text)][:120]
    if not spots:
        return None
    return _insert(text, [(p, _marks(rng, 5, 12)) for p in spots])


_INVISIBLES = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff", "\u200e", "\u200f",
               "\u2062", "\u2063"]


def _invisible(text: str, rng: random.Random, _: Confusables) -> str | None:
    spots = [m.start() for m in _LETTER_PAIR.finditer(text)]
    if not spots:
        return None
    inserts = []
    for pos in rng.sample(spots, min(len(spots), rng.randint(1, 3))):
        char = rng.choice(_INVISIBLES)
        if char in "\u200c\u200d" and scripts.joining(text[pos - 1]):
            char = "\u200b"
        if char in "\u200e\u200f" and scripts.RIGHT_TO_LEFT.search(_line(text, pos)):
            char = "\u2060"
        inserts.append((pos, char))
    return _insert(text, inserts)


def _line(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start:] if end == -1 else text[start:end]


def _joiner_punctuation(text: str, rng: random.Random, _: Confusables) -> str | None:
    marks = _spots(_PUNCTUATION, text)
    if not marks:
        return None
    chosen = rng.sample(marks, min(len(marks), rng.randint(1, 3)))
    return _insert(text, [(m.start() if rng.random() < 0.5 else m.end(),
                           rng.choice("\u200c\u200d")) for m in chosen])


def _variation_selector(text: str, rng: random.Random, _: Confusables) -> str | None:
    letters = [m.end() for m in re.finditer(r"[^\W\d_]", text)
               if not scripts.EAST_ASIAN.match(m.group())]
    if not letters:
        return None
    chosen = rng.sample(letters, min(len(letters), rng.randint(1, 3)))
    low, high = (0xFE00, 0xFE0F) if rng.random() < 0.7 else (0xE0100, 0xE01EF)
    return _insert(text, [(p, chr(rng.randint(low, high))) for p in chosen])


def _tatweel(text: str, rng: random.Random, _: Confusables) -> str | None:
    spots = [m.start() for m in _ARABIC_PAIR.finditer(text)
             if _joins_left(text[m.start() - 1])]
    if not spots:
        return None
    chosen = rng.sample(spots, min(len(spots), rng.randint(1, 3)))
    return _insert(text, [(p, "\u0640" * rng.randint(1, 3)) for p in chosen])


def _joins_left(char: str) -> bool:
    """Arabic letters that connect to the next one (not alef, dal, thal, ra, zain, waw...)."""
    return char not in "اأإآدذرزوؤءةى"


def _confusable(text: str, rng: random.Random, table: Confusables) -> str | None:
    words = [m for m in _LATIN_RUN.finditer(text)
             if any(table.lookalikes(c) for c in m.group())]
    if not words:
        return None
    pieces = []
    for word in rng.sample(words, min(len(words), rng.randint(1, 3))):
        letters = [i for i, c in enumerate(word.group()) if table.lookalikes(c)]
        chars = list(word.group())
        for i in rng.sample(letters, min(len(letters), rng.randint(1, 2))):
            chars[i] = rng.choice(table.lookalikes(chars[i]))
        pieces.append((word.start(), word.end(), "".join(chars)))
    return _replace_spans(text, pieces)


# ------------------------------------------------------------------ broken-up words

def _words(text: str, minimum: int) -> list[re.Match[str]]:
    return [m for m in _PLAIN_WORD.finditer(text) if len(m.group()) >= minimum]


def _spaced_letters(text: str, rng: random.Random, _: Confusables) -> str | None:
    words = _words(text, 3)
    if not words:
        return None
    word = rng.choice(words)
    return text[:word.start()] + " ".join(word.group()) + text[word.end():]


_INNER = ".,-_*'`~:;!?"


def _inserted_punctuation(text: str, rng: random.Random, _: Confusables) -> str | None:
    words = _words(text, 4)
    if not words:
        return None
    pieces = []
    for word in rng.sample(words, min(len(words), rng.randint(1, 2))):
        i = rng.randrange(1, len(word.group()))
        pieces.append((word.start(), word.end(),
                       word.group()[:i] + rng.choice(_INNER) + word.group()[i:]))
    return _replace_spans(text, pieces)


def _random_capitals(text: str, rng: random.Random, _: Confusables) -> str | None:
    words = [w for w in _words(text, 3) if w.group()[1:].islower()]
    if not words:
        return None
    pieces = []
    for word in rng.sample(words, min(len(words), rng.randint(1, 3))):
        chars = list(word.group())
        while True:
            new = [c.upper() if i and rng.random() < 0.5 else c for i, c in enumerate(chars)]
            if any(c.isupper() for c in new[1:]) and any(c.islower() for c in new[1:]):
                break
        pieces.append((word.start(), word.end(), "".join(new)))
    return _replace_spans(text, pieces)


_MAKERS: dict[Kind, Callable[[str, random.Random, Confusables], str | None]] = {
    Kind.DELETION_BS: _deletion("\x08"),
    Kind.DELETION_DEL: _deletion("\x7f"),
    Kind.BIDI_SWAP: _bidi_swap,
    Kind.BIDI_OVERRIDE: _bidi_override,
    Kind.BIDI_EMBEDDING: _nested((_RLO, _PDF), (_LRE, _PDF)),
    Kind.BIDI_ISOLATE: _nested((_RLI, _PDI), (_LRI, _PDI)),
    Kind.ZALGO_LIGHT: _zalgo_light,
    Kind.ZALGO_MEDIUM: _zalgo_medium,
    Kind.ZALGO_HEAVY: _zalgo_heavy,
    Kind.INVISIBLE: _invisible,
    Kind.JOINER_PUNCTUATION: _joiner_punctuation,
    Kind.VARIATION_SELECTOR: _variation_selector,
    Kind.TATWEEL: _tatweel,
    Kind.CONFUSABLE: _confusable,
    Kind.SPACED_LETTERS: _spaced_letters,
    Kind.INSERTED_PUNCTUATION: _inserted_punctuation,
    Kind.RANDOM_CAPITALS: _random_capitals,
}
