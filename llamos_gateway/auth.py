"""Bearer-key authentication, constant-time, keys never logged."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from llamos_gateway.defense.policy import PolicyOverride
from llamos_gateway.errors import AuthenticationFailed, PermissionDenied
from llamos_gateway.settings import ApiKey
from llamos_gateway.storage import Quota


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    admin: bool
    policy: PolicyOverride | None  # the key's layer of the defense policy
    quota: Quota


def key_id_for(key: ApiKey) -> str:
    if key.id:
        return key.id
    digest = hashlib.sha256(key.key.get_secret_value().encode("utf-8")).hexdigest()
    return f"key-{digest[:12]}"


class Authenticator:
    def __init__(self, keys: list[ApiKey], default_quota: Quota) -> None:
        self._keys = [(k.key.get_secret_value().encode("utf-8"), k) for k in keys]
        self._default_quota = default_quota
        self._ids = {id(k): key_id_for(k) for k in keys}

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def authenticate(self, authorization: str | None, x_api_key: str | None = None) -> Principal:
        if not self._keys:
            return Principal("anonymous", admin=True, policy=None, quota=self._default_quota)
        presented = _bearer(authorization) or (x_api_key or "")
        if not presented:
            raise AuthenticationFailed(
                "Missing API key. Send it as 'Authorization: Bearer <key>'.",
                code="missing_api_key")
        candidate = presented.encode("utf-8")
        match: ApiKey | None = None
        for secret, key in self._keys:  # check every key: no early exit, constant time per key
            if hmac.compare_digest(secret, candidate):
                match = key
        if match is None:
            raise AuthenticationFailed("Incorrect API key provided.")
        quota = Quota(match.requests_per_minute or self._default_quota.requests_per_minute,
                      match.tokens_per_minute or self._default_quota.tokens_per_minute)
        return Principal(self._ids[id(match)], admin=match.admin,
                         policy=match.policy(), quota=quota)

    @staticmethod
    def require_admin(principal: Principal) -> None:
        if not principal.admin:
            raise PermissionDenied("this endpoint needs an admin API key")


def _bearer(header: str | None) -> str:
    if not header:
        return ""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""
