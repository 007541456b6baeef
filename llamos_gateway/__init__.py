"""LLAMOS gateway: an OpenAI-compatible proxy that purifies adversarial prompts."""

__version__ = "0.1.0"
