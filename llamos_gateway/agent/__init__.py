"""The LLAMOS purification agent: prompts, reply parsing, guards and the purifier.
`wiring.py` builds it (behind `defense.segmenting`); nothing here opens clients at import
time."""

from llamos_gateway.agent.guards import DriftLimits
from llamos_gateway.agent.prompts import PromptSet, load_prompts
from llamos_gateway.agent.purifier import LLMPurifier

__all__ = ["DriftLimits", "LLMPurifier", "PromptSet", "load_prompts"]
