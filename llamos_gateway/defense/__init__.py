"""The defense: the `Purifier` seam, the pipeline every entry point shares, and the decorators
that stack purifiers. Read from the top of a request down:

    Defense                 service.py     which texts (slots.py), mode, fail policy,
     |                                     concurrency, bookkeeping (DefenseOutcome)
     +- CachingPurifier     caching.py     shared cache, single flight across workers
         +- TieredPurifier  tiered.py      the lexical screen always, the agent when flagged
             +- LexicalPurifier            (llamos_gateway.lexical)
             +- SegmentingPurifier         segmenting.py  long texts cut on sentences
                 +- LLMPurifier            (llamos_gateway.agent)

    MemoPurifier            memo.py        the arena's per-round memo
    PurifierDecorator       decorator.py   the base of the three decorators
    Purifier, PurifyResult  protocol.py    the seam and its types; codec.py its JSON

Which backends exist and how each is stacked is `llamos_gateway.backends`; the composition
root (`llamos_gateway.wiring`) builds them.
"""

from llamos_gateway.defense.protocol import (
    DefenseMode,
    Edit,
    FailPolicy,
    PassthroughPurifier,
    Purifier,
    PurifyRequest,
    PurifyResult,
    Task,
)
from llamos_gateway.defense.service import (
    Defense,
    DefenseOutcome,
    fail_open_result,
    failed_open,
)
from llamos_gateway.defense.slots import Path, TextSlot, substitute, text_slots

__all__ = ["Defense", "DefenseMode", "DefenseOutcome", "Edit", "FailPolicy",
           "PassthroughPurifier", "Path", "Purifier", "PurifyRequest", "PurifyResult", "Task",
           "TextSlot", "fail_open_result", "failed_open", "substitute", "text_slots"]
