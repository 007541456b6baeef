"""Model routing: the name a client sends -> the upstream that serves it, and the upstream's
name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llamos_gateway.errors import ModelNotFound
from llamos_gateway.upstream import Upstream

SHOWN_NAME_CHARS = 100  # of an unknown model name, echoed in the 404
SHOWN_ALIASES = 20  # aliases listed in the 404


def shown(name: str, limit: int = SHOWN_NAME_CHARS) -> str:
    """A client-chosen name, cut to a length fit for a message or a log line."""
    return name if len(name) <= limit else f"{name[:limit]}... ({len(name)} characters)"


@dataclass(frozen=True, slots=True)
class Route:
    alias: str
    upstream: Upstream
    upstream_model: str
    owned_by: str
    path: str  # "passthrough", "litellm" or "local": shown by /readyz and `llamos models`
    # POST /v1/responses: "passthrough" forwards it, "auto" forwards it and translates to chat
    # completions when the upstream answers 404/405, "translate" always translates
    responses: str = "translate"


class ModelRouter:
    """`defense` is the route of the defense LLM, when one is configured: reachable by the
    purifier, not listed to clients unless it is also one of their aliases. `fallbacks` are
    the further defense models (`defense.model` as a list), tried in order after it."""

    def __init__(self, routes: Mapping[str, Route], defense: Route | None = None,
                 fallbacks: Sequence[Route] = ()) -> None:
        self._routes = dict(routes)
        self.defense = defense
        self.fallbacks = list(fallbacks)

    @property
    def defense_routes(self) -> list[Route]:
        """Every defense model route, first choice first."""
        return [self.defense, *self.fallbacks] if self.defense is not None else []

    def resolve(self, model: str) -> Route:
        route = self._routes.get(model)
        if route is None:
            names = sorted(self._routes)
            more = len(names) - SHOWN_ALIASES
            listed = ", ".join(names[:SHOWN_ALIASES]) + (f" and {more} more" if more > 0 else "")
            raise ModelNotFound(
                f"The model '{shown(model)}' does not exist or is not served by this gateway. "
                f"Available: {listed} (GET /v1/models lists them all)",
                param="model",
            )
        return route

    def routes(self) -> list[Route]:
        return [self._routes[name] for name in sorted(self._routes)]

    def upstreams(self) -> list[Upstream]:
        seen: dict[int, Upstream] = {}
        extra = self.defense_routes
        for route in [*self._routes.values(), *extra]:
            seen.setdefault(id(route.upstream), route.upstream)
        return list(seen.values())
