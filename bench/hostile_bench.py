#!/usr/bin/env python3
"""Hostile inputs through the lexical purifier: time per input kind at 10 KB, 100 KB, 1 MB.

Every rule must be linear in its input (issue 14): 10x the input may take at most 12x the
time, and 1 MB of any kind must be purified in under a second on one core. Each kind is
built seeded from a repeated unit (runs of invisible characters, bidi controls, deletion
controls, Zalgo marks, mixed scripts, full-width and mathematical letters, right-to-left
and East Asian text, emoji sequences, misspelt words, junk punctuation, handles,
spaced-out letters, one long word, code, JSON, many short lines). Times are CPU seconds of
one `purify_text` call, the median of `--runs` runs (one run at 1 MB unless asked).

    .venv/bin/python bench/hostile_bench.py [--runs 3] [--sizes 10000,100000,1000000]

Writes bench/results/hostile.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from llamos_gateway.lexical import LexicalPurifier

ROOT = Path(__file__).resolve().parent.parent
_WORDS = ("the movie was a great and moving story about love loss and hope but the "
          "acting felt flat while the music carried every scene").split()


def _words(rng: random.Random) -> str:
    return rng.choice(_WORDS)


def _typo(rng: random.Random) -> str:
    word = rng.choice(_WORDS)
    i = rng.randrange(len(word))
    return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1:]


def _swap(rng: random.Random) -> str:
    word = rng.choice([w for w in _WORDS if len(w) > 2])
    a, b = word[0], word[1]
    return ("\u202d\u2066\u202e\u2066" + b + "\u2069\u2066" + a + "\u2069\u202c\u2069\u202c"
            + word[2:])


KINDS: dict[str, Callable[[random.Random], str]] = {
    "zwsp_run": lambda rng: "\u200b",
    "zwsp_between_letters": lambda rng: "\u200b".join(_words(rng)) + " ",
    "zwj_between_letters": lambda rng: "\u200d".join(_words(rng)) + " ",
    "bidi_override": lambda rng: "\u202e" + _words(rng)[::-1] + "\u202c ",
    "bidi_swap": lambda rng: _swap(rng) + " ",
    "bidi_one_line": lambda rng: "\u2067" + _words(rng) + "\u2069 ",
    "deletions": lambda rng: _words(rng) + rng.choice(string.ascii_letters) + "\x08 ",
    "zalgo": lambda rng: "".join(c + "".join(chr(rng.randint(0x300, 0x36F))
                                             for _ in range(rng.randint(3, 8)))
                                 for c in _words(rng)) + " ",
    "mixed_scripts": lambda rng: _words(rng).replace("o", "о").replace("a", "а") + " ",
    "fullwidth": lambda rng: "".join(chr(ord(c) + 0xFEE0) for c in _words(rng)) + " ",
    "ligatures_math": lambda rng: rng.choice(["ﬁne ", "ﬂow ", "𝐛𝐨𝐥𝐝 ", "𝔤𝔬𝔬𝔡 ", "𝟏𝟐 "]),
    "rtl_arabic": lambda rng: rng.choice(["مرحبا ", "بالعالم ", "\u200fكيف ", "حالك؟ ",
                                          "\u2066hello\u2069 "]),
    "cjk": lambda rng: rng.choice(["日本の首都はどこですか？", "ＡＩの仕組み。",
                                   "東京は今日２０℃です！"]),
    "emoji": lambda rng: rng.choice(["😍", "👨\u200d👩\u200d👧", "👍🏽", "🏴\U000e0067\U000e0062"
                                     "\U000e0065\U000e006e\U000e0067\U000e007f", "❤️", " "]),
    "misspelt_words": lambda rng: _typo(rng) + " ",
    "junk_punctuation": lambda rng: rng.choice(".!?,;:-+*") ,
    "handles": lambda rng: "@" + "".join(rng.choice("abc123xyz") for _ in range(6)) + " ",
    "spaced_letters": lambda rng: " ".join(_words(rng)) + " ",
    "one_long_word": lambda rng: rng.choice("abcdefgh"),
    "code_lines": lambda rng: rng.choice(["def f(x):\n", "    return x + 1\n", "if (a == b) {\n",
                                          "}\n", "SELECT * FROM t;\n"]),
    "json": lambda rng: json.dumps({"id": rng.randrange(1000), "name": _words(rng),
                                    "tags": ["a", "b"]}) + ", ",
    "short_lines": lambda rng: _words(rng) + "\n",
}


def build(kind: str, size: int, seed: int = 14) -> str:
    rng = random.Random(f"{seed}:{kind}")
    unit = KINDS[kind]
    parts: list[str] = []
    length = 0
    while length < size:
        piece = unit(rng)
        parts.append(piece)
        length += len(piece)
    return "".join(parts)[:size]


def measure(purifier: LexicalPurifier, text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        purifier.purify_text(text)
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--big-runs", type=int, default=1, help="runs at the largest size")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "hostile.json")
    opts = ap.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    purifier = LexicalPurifier()
    purifier.purify_text("warm up the lazily loaded parts: a tedious flim")
    rows: dict[str, Any] = {}
    print(f"{'kind':22} " + " ".join(f"{s // 1000:>7}KB" for s in sizes)
          + "   ratios (target <= 12)")
    for kind in opts.kinds.split(","):
        times = []
        for size in sizes:
            runs = opts.big_runs if size == max(sizes) else opts.runs
            times.append(measure(purifier, build(kind, size), runs))
        ratios = [b / a if a > 0 else float("inf") for a, b in zip(times, times[1:], strict=False)]
        ok = all(r <= 12 for r in ratios) and times[-1] < 1.0
        rows[kind] = {"seconds": dict(zip(map(str, sizes), times, strict=True)), "ratios": ratios,
                      "ok": ok}
        print(f"{kind:22} " + " ".join(f"{t:>8.3f}s" for t in times) + "   "
              + " ".join(f"{r:5.1f}x" for r in ratios) + ("" if ok else "   MISS"))
    summary = {"python": platform.python_version(), "load_average": os.getloadavg()[0],
               "sizes": sizes, "kinds": rows}
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {opts.out.relative_to(ROOT) if opts.out.is_relative_to(ROOT) else opts.out}")


if __name__ == "__main__":
    main()
