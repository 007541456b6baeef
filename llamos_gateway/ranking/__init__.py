"""Language-model-ranked repair: candidate repairs of the words context makes unlikely,
ranked by a scorer (an n-gram model, the local GGUF model, or a `/v1/completions`
endpoint), kept only past a margin calibrated on clean text. See docs/ranked.md."""

from llamos_gateway.ranking.candidates import Bounds, Candidate
from llamos_gateway.ranking.decision import Margins
from llamos_gateway.ranking.purifier import Policy, RankedPurifier
from llamos_gateway.ranking.scorer import CompletionsScorer, LocalScorer, NgramScorer, Scorer

__all__ = ["Bounds", "Candidate", "CompletionsScorer", "LocalScorer", "Margins", "NgramScorer",
           "Policy", "RankedPurifier", "Scorer"]
