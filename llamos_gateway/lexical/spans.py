"""What kind of text each part of an input is, decided before any word is edited.

Protected spans are left to the character-level repair (and to look-alikes mixed into
Latin words); no spelling, case, leetspeak, repeat, spacing or junk rule edits inside them.
Kinds, found in this order:

- `code`: fenced blocks (```, ~~~), inline `code`, and lines that read as code: shell
  commands (`git commit -m '...'`, `$ ...`), SQL statements, lines with programming syntax,
  and the indented lines between them;
- `markup`: JSON documents, config blocks (two or more YAML/INI/TOML/env lines, CSV rows,
  Markdown tables), tags, comments, entities, template tags, LaTeX math and commands, `*emphasis*`;
- `url`, `email`, `path` (anything with a slash or backslash, `~/x`), `hashtag`, `handle`;
- `identifier`: `snake_case`, `dotted.names`, `e.g.`, `--flags`, `$VARS`, `key=value`,
  `call(`, `two::parts` (camelCase is left to `casing`, which knows `getUserName` from
  `gOoD`);
- `number`: numbers with signs, currency, separators, exponents, units and `%`
  (`$4.99`, `3.5GHz`, `5 kg`, `45%`, `v2.3.1`, `2024-05-01`, `12:30`, `1990s`), IPv6 and
  MAC addresses.

Every pattern is linear: one scan per line for the block kinds, one regex for the rest.
"""

from __future__ import annotations

import functools
import json
import re
from typing import NamedTuple


class Span(NamedTuple):
    start: int
    end: int
    kind: str


_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n[\s\S]*?(?:^[ \t]*\1[ \t]*$|\Z)", re.MULTILINE)
_LINE = re.compile(r"[^\n]*")

_COMMANDS = frozenset("""
git npm npx yarn pnpm pip pip3 pipx python python3 node deno bun docker docker-compose podman
kubectl helm terraform ansible make cmake cargo rustc rustup go gcc g++ clang javac java mvn
gradle dotnet curl wget ssh scp rsync ls cd cp mv rm mkdir rmdir touch cat less head tail grep
egrep rg sed awk find xargs chmod chown sudo apt apt-get yum dnf brew pacman export echo
printf source tar zip unzip gzip gunzip kill pkill ps top htop du df lsof netstat ping dig
nslookup systemctl journalctl crontab env unset alias which psql mysql sqlite3 redis-cli
mongosh aws gcloud az heroku conda poetry uv ruff black pytest tox jq yq openssl base64 tr wc
sort uniq cut tee nc ffmpeg convert llamos uvicorn gunicorn flask django-admin rails bundle
gem composer php perl ruby lua R Rscript julia swift kotlinc scala sbt bazel nix ollama
""".split())
_SUBCOMMANDS = frozenset("""
install uninstall add remove run build test start push pull commit checkout clone status log
diff merge rebase fetch init exec ps images logs apply get describe delete create up down
list show update upgrade freeze serve version help config login
""".split())
_PROMPT = re.compile(r"^\s*(?:\$|#|>>>|PS [^>\n]*>|[A-Z]:\\[^>\n]*>)\s+\S")
_SQL = re.compile(
    r"^\s*(?:SELECT\s+\S|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(?:TABLE|INDEX|VIEW|DATABASE|SCHEMA|UNIQUE|OR|EXTENSION|FUNCTION|TRIGGER)"
    r"|ALTER\s+TABLE|DROP\s+(?:TABLE|INDEX|VIEW|DATABASE)|WITH\s+\w+\s+AS\s*\(|GRANT\s|EXPLAIN\s"
    r"|BEGIN;|COMMIT;|TRUNCATE\s)")
_SYNTAX_START = re.compile(
    r"^\s*(?:def\s+\w+\s*\(|class\s+\w+\s*[:(<{]|import\s+[\w.]+\s*(?:$|;|,|as\s)"
    r"|from\s+[\w.]+\s+import\s|elif\s.*:\s*$|else\s*:\s*$|try\s*:\s*$|except\b.*:\s*$"
    r"|finally\s*:\s*$|with\s+.+\s+as\s+\w+\s*:\s*$|for\s+\w+(?:,\s*\w+)*\s+in\s+.+:\s*$"
    r"|while\s+.+:\s*$|@\w+(?:\.\w+)*\(|function\s*\w*\s*\(|(?:const|let|var)\s+[A-Za-z_$][\w$]*\s*[=:;]"
    r"|(?:public|private|protected)\s+(?:(?:static|final|abstract|async)\s+)*(?:class|interface|enum|void|[A-Za-z_][\w<>\[\],]*)\s+\w+"
    r"|fn\s+\w+\s*[(<]|func\s+(?:\(\w+\s+\*?\w+\)\s*)?\w+\s*\(|package\s+[\w.]+;?\s*$"
    r"|#include\b|#define\b|#!/|using\s+[\w.]+;|(?:if|for|while|switch|catch)\s*\(.*\)\s*(?:\{.*)?$"
    r"|\}|\{\s*$|print\(|printf\(|console\.\w+\()")
_SYNTAX_END = re.compile(r"(?:;|\{|\}|\};|\)\s*\{|=>\s*\{?|->.*\{)\s*(?://.*|#.*)?$")
_FIRST_WORD = re.compile(r"\s*(\S+)")
_CODE_CHAR = re.compile(r"[;{}=<>&|:\[\]()]")
_OPERATORS = re.compile(r"==|!=|=>|->|::|&&|\|\||\+=|-=|:=|<<|>>|\w\(|\)\.|\]\[|\w\[\w")
_CONFIG = re.compile(r"^\s*(?:-\s+\S|[\w.\"'-]+\s*:(?:\s|$)|[\w.-]+\s*=\s*\S|\[[\w. \"-]+\]\s*$"
                     r"|\|.*\|\s*$|[^\s,;|]+(?:[,;|\t][^\s,;|]*){2,}\s*$)")
_JSON_START = re.compile(r"[{\[](?=\s*[\"{\[\]}\d-]|\s*(?:true|false|null)\b)")
_MAX_JSON_TRIES = 32

_UNITS = ("kg|g|mg|µg|μg|t|km|m|cm|mm|µm|μm|nm|mi|ft|yd|lb|lbs|oz|GB|MB|KB|kB|TB|GiB|MiB|ms|"
          "µs|μs|ns|s|sec|secs|min|mins|h|hr|hrs|Hz|kHz|MHz|GHz|W|kW|MW|kWh|V|mV|A|mA|mAh|dB|"
          "fps|rpm|ppm|bps|kbps|Mbps|Gbps|°C|°F|°|K|L|mL|ml|psi|px|pt|em|rem|sq|USD|EUR|GBP|"
          "bps|x|k|M|B|bn|am|pm|AM|PM")
class _Kind(NamedTuple):
    name: str
    pattern: str
    # character -> a pattern that must occur for the kind to occur when that character is
    # in the text (None: the character alone is enough); each starts with its character,
    # so each search is a fast scan
    triggers: dict[str, re.Pattern[str] | None]


def _kind_of(name: str, pattern: str, needs: str, **triggers: str) -> _Kind:
    found: dict[str, re.Pattern[str] | None] = dict.fromkeys(needs)
    for char, trigger in zip(needs, triggers.get("patterns", "").split("\x00"), strict=False):
        if trigger:
            found[char] = re.compile(trigger)
    return _Kind(name, pattern, found)


def _occurs(kind: _Kind, text: str, chars: set[str]) -> bool:
    return any(char in chars and (trigger is None or trigger.search(text) is not None)
               for char, trigger in kind.triggers.items())


_INLINE_KINDS = (
    _kind_of("code", r"(?P<tick>`+)(?=\S)[^\n]*?(?<=\S)(?P=tick)(?!`)", "`"),
    _kind_of("markup",
          r"<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<![A-Za-z][^<>\n]*>"
          r"|</?[A-Za-z][\w:.-]*(?:\s+[^<>\n]*?)?/?>|\{%[^\n]*?%\}|\{\{[^\n]*?\}\}"
          r"|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);|\$[^$\n]+\$|\\[a-zA-Z]+(?:\{[^{}\n]*\})*"
          r"|(?<![\w*])\*\*?(?=[^\s*])[^*\n]*?(?<=[^\s*])\*\*?(?![\w*])",
          "<&$\\*{"),
    _kind_of("url",
          r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+|\bwww\.\S+|\bmailto:\S+"
          r"|\b(?:[\w-]+\.)+(?:com|org|net|io|dev|ai|gov|edu|co|uk|de|fr|app|info|me|ly|gg|sh)"
          r"(?:/\S*)?(?![\w.])",
          ".:", patterns=r"\.(?<=\w\.)[a-z]{2}" + "\x00" + r":(?://|(?<=mailto:))"),
    _kind_of("email", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "@", patterns=r"@(?<=\w@)[\w-]+\."),
    _kind_of("path",
          r"(?<!\S)(?=[^\s/\\]*\w|\S*[/\\]\S*\w)\S*[/\\]\S*|(?<!\S)~[\w.-]*(?=\s|$)|%\w+%\S*",
          "/\\~%"),
    _kind_of("hashtag", r"(?<![\w&#])#\w+", "#"),
    _kind_of("handle", r"(?<![\w@])@\w+(?:[.-]\w+)*", "@"),
    _kind_of("number",
          r"\b[0-9A-Fa-f]{1,4}(?:::?[0-9A-Fa-f]{1,4}){2,7}\b"
          r"|(?<![A-Za-z0-9_.])(?:[-+±~≈]|[$€£¥₹])*\d(?:[\d,.:/-]*\d)?"
          r"(?:(?<=\.\d)[eE][-+]?\d+|(?<!\.\d)[eE](?:[-+]\d+|\d{2,}))?"
          r"(?:%|‰|(?:" + _UNITS + r"|(?<=1)st|(?<=2)nd|(?<=3)rd|th|s)\b"
          r"|\s?(?:" + _UNITS + r")\b(?!['’]))?"
          r"(?![\w.]\w|[A-Za-z])",
          "0123456789"),
    _kind_of("identifier",
          r"(?<![\w-])--?[A-Za-z][\w-]*(?:=\S*)?|\$\{?[A-Za-z_]\w*\}?"
          r"|\b[A-Za-z_][\w.-]*=[^\s,;]*|\b\w+(?:::\w+)+|\b\w+\([^()\n]{0,80}\)|\b\w+\("
          r"|\b\w+(?:[._]\w+)+\.?|\b\w*_\w*",
          "$=_:(.-", patterns="\x00\x00\x00::\x00" + r"\((?<=\w\()" + "\x00"
          + r"\.(?<=\w\.)\w" + "\x00" + r"-(?<![\w-]-)[A-Za-z]"),
)


def protected(text: str) -> list[Span]:
    """Sorted, disjoint spans of `text` that word rules must not edit."""
    blocks = _blocks(text)
    spans: list[Span] = []
    cut = 0
    for block in [*blocks, Span(len(text), len(text), "")]:
        if cut < block.start:
            spans.extend(_inline(text, cut, block.start))
        if block.kind:
            spans.append(block)
        cut = max(cut, block.end)
    return _joined(text, spans) if len(spans) > 1 else spans


def _joined(text: str, spans: list[Span]) -> list[Span]:
    """Neighbouring spans of one kind with only spaces between them, as one span."""
    out = [spans[0]]
    for span in spans[1:]:
        last = out[-1]
        if span.kind == last.kind and (span.start == last.end
                                       or text[last.end:span.start].isspace()):
            out[-1] = Span(last.start, span.end, last.kind)
        else:
            out.append(span)
    return out


def _inline(text: str, start: int, end: int) -> list[Span]:
    """One regular expression of the kinds that may occur here (most sentences have none;
    each kind's trigger is a cheap scan), earlier kinds first where two match."""
    piece = text[start:end] if start or end < len(text) else text
    chars = set(piece)
    active = tuple(k.name for k in _INLINE_KINDS
                   if not chars.isdisjoint(k.triggers) and _occurs(k, piece, chars))
    if not active:
        return []
    pattern = _pattern(active)
    return [Span(m.start(), m.end(), _kind(m.lastgroup))
            for m in pattern.finditer(text, start, end) if m.end() > m.start()]


def _kind(group: str | None) -> str:
    return "code" if group in (None, "tick") else str(group)


@functools.lru_cache(maxsize=64)
def _pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    kinds = {k.name: k.pattern for k in _INLINE_KINDS}
    return re.compile("|".join(f"(?P<{name}>{kinds[name]})" for name in names))


def _blocks(text: str) -> list[Span]:
    """Fenced code, code lines, JSON documents and config blocks."""
    if "\n" not in text and not _JSON_START.search(text) and not _looks_like_code(text):
        return []
    spans: list[Span] = []
    cut = 0
    for fence in _FENCE.finditer(text):
        spans.extend(_line_blocks(text, cut, fence.start()))
        spans.append(Span(fence.start(), fence.end(), "code"))
        cut = fence.end()
    spans.extend(_line_blocks(text, cut, len(text)))
    return spans


def _line_blocks(text: str, start: int, end: int) -> list[Span]:
    lines = [(m.start(), m.end()) for m in _LINE.finditer(text, start, end)
             if m.start() < m.end() or m.start() == start]
    kinds = [_line_kind(text[s:e]) for s, e in lines]
    _extend_code(text, lines, kinds)
    _config_blocks(kinds)
    spans: list[Span] = []
    for (s, e), kind in zip(lines, kinds, strict=True):
        if kind in ("code", "markup"):
            if spans and spans[-1].kind == kind and text[spans[-1].end:s].strip() == "":
                spans[-1] = Span(spans[-1].start, e, kind)
            else:
                spans.append(Span(s, e, kind))
    return _with_json(text, start, end, spans)


def _line_kind(line: str) -> str:
    if not line.strip():
        return "blank"
    if _looks_like_code(line):
        return "code"
    if _CONFIG.match(line):
        return "config"
    return "prose"


def _looks_like_code(line: str) -> bool:
    if len(line) > 2000:
        line = line[:2000]
    if _PROMPT.match(line) or _SQL.match(line) or _SYNTAX_START.match(line):
        return True
    first = _FIRST_WORD.match(line)
    if first is not None and first.group(1) in _COMMANDS:
        words = line.split()
        if len(words) >= 2 and (words[1] in _SUBCOMMANDS or any(_argument(w) for w in words[1:])):
            return True
    if _CODE_CHAR.search(line) is None:
        return False
    if _SYNTAX_END.search(line, max(0, len(line) - 120)) and (
            _OPERATORS.search(line) or "=" in line):
        return True
    return len(_OPERATORS.findall(line)) >= 3


def _argument(word: str) -> bool:
    return (word.startswith(("-", "./", "../", "~/", "/", "$", "'", '"')) or "=" in word
            or word in ("|", "&&", ">", ">>", "2>&1") or "/" in word or word.endswith(".py"))


def _extend_code(text: str, lines: list[tuple[int, int]], kinds: list[str]) -> None:
    """Indented lines right after code (bodies, docstrings, comments) are code too."""
    in_code = False
    for i, (s, e) in enumerate(lines):
        line = text[s:e]
        if kinds[i] == "code":
            in_code = True
        elif kinds[i] == "blank":
            continue
        elif in_code and (line[:1] in (" ", "\t") or line.lstrip().startswith(("#", "//", "*"))):
            kinds[i] = "code"
        else:
            in_code = False


def _config_blocks(kinds: list[str]) -> None:
    """Two or more config lines (blank lines between allowed) are markup."""
    run: list[int] = []
    for i, kind in enumerate([*kinds, "prose"]):
        if kind == "config":
            run.append(i)
        elif kind != "blank":
            if len(run) >= 2:
                for k in run:
                    kinds[k] = "markup"
            run = []


def _with_json(text: str, start: int, end: int, spans: list[Span]) -> list[Span]:
    """JSON objects and arrays outside the spans found so far, as markup."""
    if _JSON_START.search(text, start, end) is None:
        return spans
    decoder = json.JSONDecoder()
    found: list[Span] = []
    tries = 0
    pos = start
    k = 0
    for match in _JSON_START.finditer(text, start, end):
        at = match.start()
        while k < len(spans) and spans[k].end <= at:
            k += 1
        if at < pos or (k < len(spans) and spans[k].start <= at):
            continue
        tries += 1
        if tries > _MAX_JSON_TRIES:
            break
        try:
            _, stop = decoder.raw_decode(text, at)
        except ValueError:
            continue
        if stop <= end and (k >= len(spans) or stop <= spans[k].start):
            found.append(Span(at, stop, "markup"))
            pos = stop
    return sorted(spans + found)
