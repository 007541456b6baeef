"""The LLAMOS purification agent: prompts, reply parsing, guards, the purifier and the
long-text decorator. `wiring.py` builds it; nothing here opens clients at import time."""

from llamos_gateway.agent.guards import DriftLimits
from llamos_gateway.agent.prompts import PromptSet, load_prompts
from llamos_gateway.agent.purifier import LLMPurifier
from llamos_gateway.agent.segmenting import SegmentingPurifier

__all__ = ["DriftLimits", "LLMPurifier", "PromptSet", "SegmentingPurifier", "load_prompts"]
