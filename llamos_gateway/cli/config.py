"""`llamos config`: the effective configuration, or the reference table of every key."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from llamos_gateway.cli._common import ConfigOption
from llamos_gateway.defense.policy import Policy
from llamos_gateway.settings import Settings, load_settings


def register(app: typer.Typer) -> None:
    app.command()(config)


def config(
    path: ConfigOption = None,
    reference: Annotated[bool, typer.Option("--reference",
                                            help="print the markdown table of every key")] = False,
) -> None:
    """Print the effective configuration (secrets masked), after file and environment."""
    if reference:
        typer.echo(reference_table())
        return
    settings = load_settings(path)
    shown = settings.model_dump(mode="json")
    shown["effective_policy"] = effective_policy(settings)
    typer.echo(json.dumps(shown, indent=2, default=str))


def effective_policy(settings: Settings) -> dict[str, Any]:
    """The defense policy each configured model gets (global < model), and each key's own
    layer over it (then the request headers: x-llamos-defense, x-llamos-task)."""
    from llamos_gateway.auth import key_id_for

    book = settings.policies()

    def shown(policy: Policy) -> dict[str, Any]:
        return {**policy.as_dict(), "backend": policy.backend or settings.defense_backend}

    return {"precedence": "header > key > model > global", "global": shown(book.base),
            "models": {alias: shown(book.for_model(alias)) for alias in settings.models},
            "keys": {key_id_for(k): layer.model_dump(mode="json", exclude_none=True)
                     for k in settings.auth.api_keys if (layer := k.policy()) is not None}}


def reference_table() -> str:
    rows = ["| key | environment variable | default | description |", "|---|---|---|---|"]
    for key, default, description in _walk(Settings, ()):
        env = "LLAMOS_" + "__".join(key).upper()
        rows.append(f"| `{'.'.join(key)}` | `{env}` | `{default}` | {description} |")
    return "\n".join(rows)


def _walk(model: type[BaseModel],
          prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], str, str]]:
    out: list[tuple[tuple[str, ...], str, str]] = []
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        key = (*prefix, name)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += _walk(annotation, key)
            continue
        default = field.get_default(call_default_factory=True)
        if name == "prompts_dir":
            default = "<repo>/prompts"
        shown = json.dumps(default, default=str) if not isinstance(default, str) else default
        out.append((key, shown.replace("|", "\\|"), (field.description or "").replace("|", "\\|")))
    return out
