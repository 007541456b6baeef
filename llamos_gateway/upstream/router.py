"""Model routing: the name a client sends -> the upstream that serves it, and the upstream's name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from llamos_gateway.errors import ModelNotFound
from llamos_gateway.upstream import Upstream


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
            raise ModelNotFound(
                f"The model '{model}' does not exist or is not served by this gateway. "
                f"Available: {', '.join(sorted(self._routes))}",
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
