"""The lexical sentinel: an offline, deterministic purifier and screening pass."""

from llamos_gateway.lexical.purifier import LexicalPurifier

__all__ = ["LexicalPurifier"]
