"""Adapters that plug LLAMOS into other gateways (LiteLLM)."""
