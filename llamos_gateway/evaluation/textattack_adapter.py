"""The one module that imports TextAttack (lazily: it pulls in torch and transformers).

`build_attack(recipe, classifier, loop)` turns a recipe name into a ready `AttackRunner`.
Built in: `deepwordbug`, `pruthi` (TextAttack's recipes), `homoglyph` and `invisible`
(composed here from TextAttack transformations). Any other recipe TextAttack knows is built
when the resources it downloads are present; otherwise `RecipeUnavailable` names them.
TextAttack calls models synchronously; the runner runs in a worker thread and reaches the
(async) classifier on the caller's event loop, so purifiers and gateway clients stay on it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llamos_gateway.errors import InvalidRequest, NotFound
from llamos_gateway.evaluation.datasets import Example
from llamos_gateway.evaluation.fidelity import changed_words
from llamos_gateway.evaluation.nltk_data import prepare_offline
from llamos_gateway.evaluation.protocols import Classifier, LabelScores, TextInput, as_text

BUILT_IN = ("deepwordbug", "pruthi", "homoglyph", "invisible")


class RecipeUnavailable(NotFound):
    """A recipe whose resources (embeddings, models, corpora) are not on this machine."""

    code = "recipe_unavailable"


@dataclass(frozen=True, slots=True)
class AttackRecord:
    """One attacked example, converted from TextAttack's result at this border."""

    idx: int
    label: int
    original: TextInput
    adversarial: TextInput
    status: str  # "succeeded" | "failed" | "skipped"
    original_prediction: int
    adversarial_prediction: int
    queries: int
    perturbed_words: int


# What the other TextAttack recipes need that a bare install lacks. A recipe is built when every
# check passes; otherwise the first missing resource is named.
def _ta_cache(*parts: str) -> Callable[[], bool]:
    def check() -> bool:  # TextAttack's cache dir, found without importing it (seconds)
        root = os.environ.get("TA_CACHE_DIR", str(Path.home() / ".cache" / "textattack"))
        return Path(root).joinpath(*parts).exists()

    return check


def _importable(module: str) -> Callable[[], bool]:
    def check() -> bool:
        import importlib.util

        return importlib.util.find_spec(module) is not None

    return check


def _hf_model(name: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            return False
        return isinstance(try_to_load_from_cache(name, "config.json"), str)

    return check


def _nltk(resource: str) -> Callable[[], bool]:
    def check() -> bool:
        import nltk

        try:
            nltk.data.find(resource)
        except LookupError:
            return False
        return True

    return check


_USE = ("the Universal Sentence Encoder (tensorflow_hub)", _importable("tensorflow_hub"))
_EMBEDDINGS = ("the counter-fitted word embeddings (textattack cache word_embeddings/paragramcf)",
               _ta_cache("word_embeddings", "paragramcf"))
_WORDNET = ("the NLTK WordNet corpus (corpora/wordnet)", _nltk("corpora/wordnet"))
_BERT = ("the bert-base-uncased model (Hugging Face cache)", _hf_model("bert-base-uncased"))
RESOURCES: dict[str, tuple[tuple[str, Callable[[], bool]], ...]] = {
    "textfooler": (_EMBEDDINGS, _USE),
    "pwws": (_WORDNET,),
    "textbugger": (_USE, ("GloVe embeddings (textattack cache word_embeddings/glove200)",
                          _ta_cache("word_embeddings", "glove200"))),
    "bae": (_BERT, _USE),
    "bert-attack": (_BERT, _USE),
    "a2t": (_EMBEDDINGS, _BERT),
    "clare": (("the distilroberta-base model (Hugging Face cache)",
               _hf_model("distilroberta-base")),
              _USE),
    "alzantot": (_EMBEDDINGS, ("the Google 1B language model (textattack cache)",
                               _ta_cache("constraints", "semantics", "language-models"))),
    "faster-alzantot": (_EMBEDDINGS, ("the Google 1B language model (textattack cache)",
                                      _ta_cache("constraints", "semantics", "language-models"))),
    "iga": (_EMBEDDINGS,),
    "kuleshov": (_EMBEDDINGS, _USE, ("the gpt2 model (Hugging Face cache)", _hf_model("gpt2"))),
    "pso": (("HowNet (OpenHowNet resources)", _ta_cache("transformations", "hownet")),),
    "leap": (_EMBEDDINGS, _USE),
    "checklist": (("the flair NER model (flair cache)", lambda: False),),
}
UNSUPPORTED = {
    "hotflip": "needs the gradients of a PyTorch model, not a black-box target",
    "seq2sick": "attacks sequence-to-sequence models, not classifiers",
    "morpheus": "attacks translation models (BLEU goal), not classifiers",
    "input-reduction": "shrinks inputs while keeping the label; it is not an adversarial attack",
    "bad-characters": "is a targeted differential-evolution attack; use homoglyph or invisible",
}


def known_recipes() -> tuple[str, ...]:
    return BUILT_IN + tuple(sorted(RESOURCES))


def check_recipe(name: str) -> None:
    """Raise a one-line error for an unknown or unavailable recipe, before any attack starts."""
    if name in BUILT_IN:
        return
    if name in UNSUPPORTED:
        raise InvalidRequest(f"recipe {name!r} {UNSUPPORTED[name]}", param="recipe")
    if name not in RESOURCES:
        raise InvalidRequest(f"unknown recipe {name!r} (known: {', '.join(known_recipes())})",
                             param="recipe")
    prepare_offline()
    for what, present in RESOURCES[name]:
        if not present():
            raise RecipeUnavailable(f"recipe {name!r} needs {what}, which is not present "
                                    "on this machine", param="recipe")


def _import_textattack() -> Any:
    prepare_offline()
    import textattack

    _memoize_tokenizer()
    # TextAttack's own logger has its level set and propagation off at import: quiet it here.
    for noisy in ("textattack", "textattack.shared.utils.install", "transformers", "datasets"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    return textattack


# TextAttack's `words_from_text` keeps these look-alikes inside words (copied code points).
_TA_HOMOGLYPHS = ("\u02d7\u09ed\u0222\U0001d7d5\u0431\u01bc\u13ce\u01b7\u14bflO`\u0251\u042c"
                  "\u03f2\u0501\u0435\U0001d68f\u0261\u0570\u0456\u03f3\U0001d48c\u217c\uff4d"
                  "\u0578\u043e\u0440\u051b\u2c85\u0455\U0001d69d\u057d\u0475\u051d\u00d7"
                  "\u0443\u1d22")
_TA_WORD = re.compile(f"[\\w{_TA_HOMOGLYPHS}'\\-_\\*@]+")
_TA_CJK = re.compile("[\u4e00-\u9fff]")
_TA_EDGES = "'-_*@"


@functools.lru_cache(maxsize=1 << 18)
def _token_words(token: str) -> tuple[str, ...]:
    found = (w.strip(_TA_EDGES) for w in _TA_WORD.findall(token.strip(_TA_EDGES)))
    return tuple(w for w in found if w)


def _words_from_text(text: str) -> tuple[str, ...]:
    """TextAttack's `words_from_text` without a word list: patterns compiled once, and each
    whitespace token split once (a candidate differs from its sentence in one word)."""
    words: list[str] = []
    for token in text.split():
        words.extend(_token_words(token))
    return tuple(words)


def _memoize_tokenizer() -> None:
    """Speed up the word splitter `AttackedText` calls for every word of every candidate.

    Generating a candidate re-tokenizes each word of the sentence; that pure function was 85%
    of Pruthi's time against the local target. Same results (tests compare with the original);
    Chinese text and calls with a word list go to TextAttack's own function.
    """
    import textattack.shared.attacked_text as attacked_text

    original = attacked_text.words_from_text
    if getattr(original, "memoized", False):
        return
    @functools.lru_cache(maxsize=1 << 17)
    def cached(text: str) -> tuple[str, ...] | None:
        return None if _TA_CJK.search(text) else _words_from_text(text)

    def words_from_text(text: str, words_to_ignore: list[str] | None = None) -> list[str]:
        words = None if words_to_ignore else cached(text)
        return list(words) if words is not None else list(original(text, words_to_ignore or []))

    words_from_text.memoized = True  # type: ignore[attr-defined]
    attacked_text.words_from_text = words_from_text


def _recipe(name: str, wrapper: Any) -> Any:
    ta = _import_textattack()
    from textattack import Attack
    from textattack.constraints.overlap import LevenshteinEditDistance
    from textattack.constraints.pre_transformation import (
        RepeatModification,
        StopwordModification,
    )
    from textattack.goal_functions import UntargetedClassification
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwapInvisibleCharacters

    if name == "deepwordbug":
        return ta.attack_recipes.DeepWordBugGao2018.build(wrapper)
    if name == "pruthi":
        return ta.attack_recipes.Pruthi2019.build(wrapper)
    if name in ("homoglyph", "invisible"):
        swap = _homoglyph_swap() if name == "homoglyph" else WordSwapInvisibleCharacters()
        constraints = [RepeatModification(), StopwordModification(), LevenshteinEditDistance(30)]
        return Attack(UntargetedClassification(wrapper), constraints, swap,
                      GreedyWordSwapWIR(wir_method="unk"))
    check_recipe(name)
    from textattack.attack_args import ATTACK_RECIPE_NAMES

    module, _, cls = ATTACK_RECIPE_NAMES[name].rpartition(".")
    return getattr(ta.attack_recipes, cls).build(wrapper)


# Latin letter -> look-alike from another script (Cyrillic, Greek, Armenian, IPA). TextAttack's
# own WordSwapHomoglyphSwap reads a data file its 0.3.11 wheel does not ship.
HOMOGLYPHS = {"a": "\u0430", "c": "\u0441", "d": "\u0501", "e": "\u0435", "g": "\u0261",
              "h": "\u04bb", "i": "\u0456", "j": "\u0458", "k": "\u03ba", "l": "\u04cf",
              "n": "\u0578", "o": "\u043e", "p": "\u0440", "q": "\u051b", "s": "\u0455",
              "u": "\u057d", "v": "\u03bd", "w": "\u051d", "x": "\u0445", "y": "\u0443"}


def _homoglyph_swap() -> Any:
    """Each candidate replaces one letter of the word with its homoglyph."""
    from textattack.transformations import WordSwap

    class HomoglyphSwap(WordSwap):  # type: ignore[misc]
        def _get_replacement_words(self, word: str) -> list[str]:
            return [word[:i] + HOMOGLYPHS[ch] + word[i + 1:]
                    for i, ch in enumerate(word) if ch in HOMOGLYPHS]

    return HomoglyphSwap()


def _wrapper(call: Callable[[list[TextInput]], LabelScores]) -> Any:
    """A TextAttack ModelWrapper. An extra last column marks 'no valid answer' (always wrong)."""
    _import_textattack()
    from textattack.models.wrappers import ModelWrapper

    class _Bridge(ModelWrapper):  # type: ignore[misc]
        model = None

        def __call__(self, text_input_list: list[Any], **_: Any) -> np.ndarray[Any, Any]:
            inputs = [t if isinstance(t, str) else tuple(t) for t in text_input_list]
            scores = call(inputs).scores
            invalid = (scores.sum(axis=1) <= 0.0).astype(np.float64)[:, None]
            return np.hstack([scores, invalid])

    return _Bridge()


class AttackRunner:
    """Runs one recipe against one classifier, one example at a time (call from a thread)."""

    def __init__(self, recipe: str, classifier: Classifier, loop: asyncio.AbstractEventLoop,
                 *, query_budget: int | None = None, batch_size: int = 256) -> None:
        self.recipe = recipe
        self._classifier = classifier
        self._loop = loop
        self._attack = _recipe(recipe, _wrapper(self._predict))
        goal = self._attack.goal_function
        goal.batch_size = batch_size
        if query_budget is not None:
            goal.query_budget = query_budget

    def _predict(self, inputs: list[TextInput]) -> LabelScores:
        future = asyncio.run_coroutine_threadsafe(self._classifier.predict(inputs), self._loop)
        return future.result()

    def attack(self, example: Example, seed: int) -> AttackRecord:
        from collections import OrderedDict

        from textattack.attack_results import FailedAttackResult, SkippedAttackResult

        random.seed(seed * 1_000_003 + example.idx)
        np.random.seed((seed * 1_000_003 + example.idx) % 2**32)
        fields = example.fields
        text: Any = fields[0] if len(fields) == 1 else OrderedDict(
            (f"text{i}", f) for i, f in enumerate(fields))
        result = self._attack.attack(text, example.label)
        original, perturbed = result.original_result, result.perturbed_result
        status = ("skipped" if isinstance(result, SkippedAttackResult)
                  else "failed" if isinstance(result, FailedAttackResult) else "succeeded")
        # A failed attack leaves the example as it was: report the original text and prediction.
        final = perturbed if status == "succeeded" else original
        adversarial_input = _as_input(final.attacked_text)
        return AttackRecord(
            idx=example.idx, label=example.label, original=example.input,
            adversarial=adversarial_input,
            status=status, original_prediction=_label(original.output, self._n_labels),
            adversarial_prediction=_label(final.output, self._n_labels),
            queries=int(perturbed.num_queries),
            perturbed_words=(changed_words(as_text(example.input), as_text(adversarial_input))
                             if status == "succeeded" else 0),
        )

    @property
    def _n_labels(self) -> int:
        return len(self._classifier.labels)


def _as_input(attacked_text: Any) -> TextInput:
    values = tuple(str(v) for v in attacked_text._text_input.values())
    return values[0] if len(values) == 1 else values


def _label(output: Any, n_labels: int) -> int:
    value = int(output)
    return value if value < n_labels else -1


def attack_many(runner: AttackRunner, examples: Sequence[Example], seed: int,
                on_done: Callable[[AttackRecord], None] | None = None) -> list[AttackRecord]:
    records = []
    for example in examples:
        record = runner.attack(example, seed)
        records.append(record)
        if on_done is not None:
            on_done(record)
    return records
