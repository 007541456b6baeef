"""The NLTK data TextAttack needs at import time, created locally without network.

TextAttack reads NLTK's English stopword list while it is being imported and, on its first
import, tries to download NLTK packages. Offline, both fail. `prepare_offline()` writes the
stopword list (the standard NLTK English list) into a user cache dir, points NLTK at it,
and marks TextAttack's one-off download step as done so it never reaches for the network.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from llamos_gateway.files import atomic_write, cache_dir

ENGLISH_STOPWORDS = """
i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
yourselves he him his himself she she's her hers herself it it's its itself they them their
theirs themselves what which who whom this that that'll these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until
while of at by for with about against between into through during before after above below
to from up down in out on off over under again further then once here there when where why
how all any both each few more most other some such no nor not only own same so than too
very s t can will just don don't should should've now d ll m o re ve y ain aren aren't
couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma
mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't weren
weren't won won't wouldn wouldn't
""".split()

# TextAttack 0.3.x skips its NLTK/stanza downloads when this file exists in its cache dir.
_TEXTATTACK_MARKER = "post_install_check_3"


def nltk_data_dir() -> Path:
    root = cache_dir("nltk_data")
    stopwords = root / "corpora" / "stopwords" / "english"
    if not stopwords.is_file():
        atomic_write(stopwords, ("\n".join(ENGLISH_STOPWORDS) + "\n").encode("utf-8"))
    return root


def prepare_offline() -> None:
    """Idempotent; call before `import textattack`."""
    root = str(nltk_data_dir())
    paths = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    if root not in paths:
        os.environ["NLTK_DATA"] = os.pathsep.join([root, *paths])
    if "nltk" in sys.modules:  # already imported: NLTK read NLTK_DATA at import time
        import nltk

        if root not in nltk.data.path:
            nltk.data.path.insert(0, root)
    ta_cache = Path(os.environ.get("TA_CACHE_DIR", Path.home() / ".cache" / "textattack"))
    marker = ta_cache / _TEXTATTACK_MARKER
    if not marker.exists():
        ta_cache.mkdir(parents=True, exist_ok=True)
        marker.touch()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
