"""What one arena run is: checked once, before anything is opened."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from llamos_gateway import backends
from llamos_gateway.arena.transformations import DEFAULT, check_names
from llamos_gateway.errors import InvalidRequest

ATTACKERS = ("offline", "llm")
NO_DEFENSE = "none"  # the passthrough backend, under its arena name
DEFENSES = (*backends.names(), NO_DEFENSE)


@dataclass(frozen=True, slots=True)
class ArenaConfig:
    dataset: str = "sst2"
    target: str = "local/sst2-sentiment"
    attacker: str = "offline"
    attacker_model: str | None = None
    defense: str = "lexical"
    rounds: int = 5
    limit: int | None = 100
    output_dir: Path = Path("runs/arena")
    seed: int = 0
    attempts: int = 2
    query_budget: int = 80
    patience: int = 2
    tolerance: float = 0.01
    attacker_pool: int = 16
    defender_pool: int = 16
    max_word_ratio: float = 0.15
    similarity: str = "local"  # the judge's semantic floor: local, bert-score:<dir> or none
    min_similarity: float | None = None  # None: the similarity's calibrated floor
    transformations: tuple[str, ...] = DEFAULT
    concurrency: int | None = None
    fresh: bool = False

    def validate(self) -> ArenaConfig:
        def bad(param: str, message: str) -> InvalidRequest:
            return InvalidRequest(message, param=param)

        if self.attacker not in ATTACKERS:
            raise bad("attacker", f"--attacker must be one of {', '.join(ATTACKERS)}, "
                                  f"not {self.attacker!r}")
        if self.defense not in DEFENSES:
            raise bad("defense", f"--defense must be one of {', '.join(DEFENSES)}, "
                                 f"not {self.defense!r}")
        if self.attacker == "llm" and not self.attacker_model:
            raise bad("attacker_model", "--attacker llm needs --attacker-model (a model alias "
                                        "the gateway serves, from the config's `models`)")
        for name, value, least in (("rounds", self.rounds, 1), ("attempts", self.attempts, 1),
                                   ("query-budget", self.query_budget, 2),
                                   ("patience", self.patience, 0),
                                   ("attacker-pool", self.attacker_pool, 0),
                                   ("defender-pool", self.defender_pool, 0),
                                   ("limit", self.limit if self.limit is not None else 1, 1),
                                   ("concurrency", self.concurrency or 1, 1)):
            if value < least:
                raise bad(name, f"--{name} must be at least {least}, not {value}")
        if not 0.0 <= self.tolerance <= 1.0:
            raise bad("tolerance", f"--tolerance must be within [0, 1], not {self.tolerance}")
        if not 0.0 < self.max_word_ratio <= 1.0:
            raise bad("max_word_ratio", "--max-word-ratio must be within (0, 1]")
        if (self.similarity not in ("local", "none")
                and not self.similarity.startswith("bert-score:")):
            raise bad("similarity", "--similarity takes local, bert-score:<model dir> or none, "
                                    f"not {self.similarity!r}")
        if self.min_similarity is not None and not -1.0 <= self.min_similarity <= 1.0:
            raise bad("min_similarity", "--min-similarity must be within [-1, 1]")
        check_names(self.transformations)
        return self

    @property
    def workers(self) -> int:
        return self.concurrency or (1 if self.attacker == "offline" else 8)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["output_dir"] = str(self.output_dir)
        out["transformations"] = list(self.transformations)
        return out

    def run_key(self) -> dict[str, Any]:
        """The settings a resumed run must share (rounds may grow; stopping rules may change)."""
        skip = {"rounds", "output_dir", "fresh", "patience", "tolerance", "concurrency"}
        return {k: v for k, v in self.as_dict().items() if k not in skip}
