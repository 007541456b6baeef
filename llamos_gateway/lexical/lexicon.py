"""The word knowledge the lexical purifier ranks with: known words, word and pair counts.

Sources (no evaluation sentences): symspellpy's bundled English unigram and bigram
frequency dictionaries, the SCOWL word lists in `data/lexicon/` (see its README), chat
slang and technical shorthand (`data/lexicon/slang.txt`, known words only), and word and
bigram counts of the GLUE SST-2 *train* split as a movie-review frequency source.

One `Lexicon` per purifier instance. The word table is loaded in the constructor; the
bigram table and the distance-2 candidate index are loaded on first use, so a short
`llamos purify "text"` on clean text never pays for them. Each part is compiled once
into the on-disk cache (`lexical.cache`).
"""

from __future__ import annotations

import array
import gzip
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from llamos_gateway.lexical import candidates
from llamos_gateway.lexical.cache import cached, default_cache_dir

# Bump when a compiled part changes shape or meaning, so old cache files are ignored.
FORMAT_VERSION = 8
_WORD = re.compile(r"^[a-z]+(?:[-'][a-z]+)*$")
# A word seen this often in SST-2 train is a correction target even when the general
# dictionaries lack it (names and slang of movie reviews); rarer ones are only known.
_TRAIN_TARGET_MIN = 3
# Spelling candidates remembered for this many words at most (then the table starts afresh).
_NEAR_MEMO = 50_000


@dataclass(frozen=True, slots=True)
class Sources:
    """Paths of the raw inputs; their content hash names the cache files."""

    unigrams: Path
    bigrams: Path
    wordlist: Path
    train: Path
    slang: Path

    @classmethod
    def bundled(cls) -> Sources:
        spell = resources.files("symspellpy")
        data = resources.files("llamos_gateway") / "data"
        return cls(
            unigrams=Path(str(spell / "frequency_dictionary_en_82_765.txt")),
            bigrams=Path(str(spell / "frequency_bigramdictionary_en_243_342.txt")),
            wordlist=Path(str(data / "lexicon" / "scowl_en_large.txt.gz")),
            train=Path(str(data / "glue" / "sst2_train.jsonl")),
            slang=Path(str(data / "lexicon" / "slang.txt")),
        )

    def fingerprint(self) -> str:
        digest = hashlib.sha256(f"v{FORMAT_VERSION}".encode())
        for path in (self.unigrams, self.bigrams, self.wordlist, self.train, self.slang):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        return digest.hexdigest()[:16]


class Lexicon:
    """`count(w)` > 0 for correction targets, 0 for words that are only known."""

    def __init__(self, sources: Sources | None = None, cache_dir: Path | None = None,
                 use_cache: bool = True) -> None:
        self._sources = sources or Sources.bundled()
        self._prefix: Path | None = None
        if use_cache:
            folder = cache_dir or default_cache_dir()
            self._prefix = folder / f"lexicon-{self._sources.fingerprint()}"
        keys, counts, names, cased = cached(self._path("words"), self._build_words)
        self.words: dict[str, int] = _unpack_counts(keys, counts)
        self.names: frozenset[str] = frozenset(names.split("\n"))
        # words the lists spell with inner capitals (`JavaScript`, `McDonald`, `iPhone`)
        self.cased: frozenset[str] = frozenset(cased.split("\n"))
        self.targets = frozenset(w for w, n in self.words.items() if n > 0)
        self.slang = frozenset(_read_slang(self._sources.slang, chat_only=True))
        # chat slang and technical shorthand: known, never targets, never word parts
        self._shorthand = frozenset(_read_slang(self._sources.slang)) - self.words.keys()
        self._bigrams: dict[str, int] | None = None
        self._index: candidates.Index | None = None
        self._near: dict[tuple[str, int], tuple[tuple[str, int], ...]] = {}

    def is_name(self, word: str) -> bool:
        """Listed only capitalised (`audrey`, `meyer`): a proper name, not a common word."""
        return word in self.names

    def is_known(self, word: str) -> bool:
        """A dictionary word, or chat slang and technical shorthand (`lol`, `ptr`)."""
        return word in self.words or word in self._shorthand

    def in_dictionary(self, word: str) -> bool:
        """A word of the dictionaries (not slang): what derived forms are built from."""
        return word in self.words

    def is_target(self, word: str) -> bool:
        """A word frequent enough to be the repair of another (`count(word) > 0`)."""
        return word in self.targets

    def count(self, word: str) -> int:
        return self.words.get(word, 0)

    def pair(self, left: str, right: str) -> int:
        if self._bigrams is None:
            self._bigrams = _unpack_counts(*cached(self._path("bigrams"), self._build_bigrams))
        return self._bigrams.get(f"{left} {right}", 0)

    def near(self, word: str, max_distance: int = 2) -> tuple[tuple[str, int], ...]:
        """Correction targets within edit distance 1, else within 2, with their distance.
        Remembered per word (a bounded table: misspellings recur in traffic)."""
        key = (word, max_distance)
        found = self._near.get(key)
        if found is None:
            if len(self._near) >= _NEAR_MEMO:
                self._near = {}
            found = self._near[key] = tuple(self._near_uncached(word, max_distance))
        return found

    def _near_uncached(self, word: str, max_distance: int) -> list[tuple[str, int]]:
        found = candidates.within_one(word, self.targets)
        if found or max_distance < 2:
            return found
        if self._index is None:
            keys, values = cached(self._path("index"), self._build_index)
            self._index = dict(zip(keys.split("\n"), values.split("\n"), strict=True))
        return candidates.lookup(self._index, word)

    def within(self, word: str, max_distance: int = 2) -> list[tuple[str, int]]:
        """Correction targets within edit distance `max_distance` (all of them, not only the
        nearest as `near` gives), nearest first: for the ranked backend's candidates."""
        if max_distance < 2:
            return candidates.within_one(word, self.targets)
        if self._index is None:
            keys, values = cached(self._path("index"), self._build_index)
            self._index = dict(zip(keys.split("\n"), values.split("\n"), strict=True))
        return candidates.lookup(self._index, word, max_distance)

    def _path(self, part: str) -> Path | None:
        return None if self._prefix is None else self._prefix.with_name(
            f"{self._prefix.name}.{part}.marshal")

    def _build_words(self) -> tuple[str, bytes, str, str]:
        spell = dict(_read_counts(self._sources.unigrams, 1))
        train, _ = _train_counts(self._sources.train)
        scale = _scale(spell, train)
        listed = _read_wordlist(self._sources.wordlist)
        lower = {w for w in listed if w.islower()}
        names = frozenset(w.lower() for w in listed if not w.islower()) - lower
        words = dict.fromkeys((w.lower() for w in listed), 0)
        for word, n in train.items():
            words[word] = max(1, int(n * scale)) if n >= _TRAIN_TARGET_MIN else 0
        words.update(spell)
        cased = sorted(w for w in listed if any(c.isupper() for c in w[1:]))
        self._prune()
        return (*_pack_counts(words), "\n".join(sorted(names)), "\n".join(cased))

    def _build_bigrams(self) -> tuple[str, bytes]:
        spell = dict(_read_counts(self._sources.unigrams, 1))
        pairs = dict(_read_counts(self._sources.bigrams, 2))
        train, train_pairs = _train_counts(self._sources.train)
        scale = _scale(spell, train)
        for key, n in train_pairs.items():
            pairs[key] = pairs.get(key, 0) + max(1, int(n * scale))
        return _pack_counts(pairs)

    def _build_index(self) -> tuple[str, str]:
        index = candidates.build_index(sorted(self.targets))
        return "\n".join(index), "\n".join(index.values())

    def _prune(self) -> None:
        """Remove the cache files of other source versions (called when building anew)."""
        if self._prefix is None or not self._prefix.parent.is_dir():
            return
        for old in self._prefix.parent.glob("lexicon-*.marshal"):
            if not old.name.startswith(self._prefix.name + "."):
                old.unlink(missing_ok=True)


# Compiled tables are stored as one joined string of keys and one array of counts: loading
# those is several times faster than loading a marshalled dict of the same size.
def _pack_counts(table: dict[str, int]) -> tuple[str, bytes]:
    return "\n".join(table), array.array("q", table.values()).tobytes()


def _unpack_counts(keys: str, counts: bytes) -> dict[str, int]:
    values = array.array("q")
    values.frombytes(counts)
    return dict(zip(keys.split("\n"), values, strict=True))


def _read_counts(path: Path, arity: int) -> list[tuple[str, int]]:
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == arity + 1:
                out.append((" ".join(parts[:arity]).lower(), int(parts[arity])))
    return out


def _read_wordlist(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [w for w in handle.read().split("\n") if w]


def _read_slang(path: Path, chat_only: bool = False) -> list[str]:
    """Chat slang and technical shorthand: known words, never correction targets (the chat
    part alone with `chat_only`)."""
    words: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# technical") and chat_only:
            break
        if not line.startswith("#"):
            words.extend(line.split())
    return words


def _train_counts(path: Path) -> tuple[Counter[str], Counter[str]]:
    words: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            tokens = json.loads(line)["sentence"].split()
            words.update(t for t in tokens if _WORD.match(t))
            pairs.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)
                         if _WORD.match(a) and _WORD.match(b))
    return words, pairs


def _scale(spell: dict[str, int], train: Counter[str]) -> float:
    """Factor that maps SST-2 train counts onto the symspell corpus scale (shared words)."""
    shared = [w for w in train if w in spell]
    ours = sum(train[w] for w in shared)
    return sum(spell[w] for w in shared) / ours if ours else 1.0
