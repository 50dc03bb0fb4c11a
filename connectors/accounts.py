"""Which account a new connection belongs to, in the words people know it by ("@octocat",
"ann@example.com"): shown in "GitHub connected as @octocat" and in `/atom connections`.

Taken from the token response where the provider includes it (Asana's `data`, Google's
OpenID `id_token`), otherwise from the service's own "who am I" call. Best effort: a
connection whose account cannot be named works all the same.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from connectors.base import ConnectorError
from connectors.client import ServiceHttp
from connectors.providers import TokenSet

log = logging.getLogger(__name__)

AccountNamer = Callable[[TokenSet, ServiceHttp], Awaitable[str | None]]


async def _github(_tokens: TokenSet, http: ServiceHttp) -> str | None:
    user = await http.json("GET", "/user", idempotent=True)
    return f"@{user['login']}"


async def _trello(_tokens: TokenSet, http: ServiceHttp) -> str | None:
    member = await http.json("GET", "/members/me", idempotent=True, params={"fields": "username"})
    return f"@{member['username']}"


async def _dropbox(_tokens: TokenSet, http: ServiceHttp) -> str | None:
    account = await http.json(
        "POST",
        "/users/get_current_account",
        idempotent=True,
        content=b"null",
        headers={"Content-Type": "application/json"},
    )
    return str(account["email"])


async def _asana(tokens: TokenSet, _http: ServiceHttp) -> str | None:
    user = tokens.details.get("data") or {}
    return user.get("email") or user.get("name")


async def _google(tokens: TokenSet, _http: ServiceHttp) -> str | None:
    return id_token_claims(tokens.details.get("id_token")).get("email")


NAMERS: Mapping[str, AccountNamer] = {
    "github": _github,
    "trello": _trello,
    "dropbox": _dropbox,
    "asana": _asana,
    "gmail": _google,
    "google_calendar": _google,
    "google_drive": _google,
}


def id_token_claims(id_token: Any) -> dict[str, Any]:
    """The claims of an OpenID Connect ID token received straight from the provider's
    token endpoint over TLS, which OpenID Connect Core §3.1.3.7 accepts in place of
    checking its signature. Used only to name the account, never to authorise."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return {}
    payload = id_token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


async def describe_account(service: str, tokens: TokenSet, http: ServiceHttp) -> str | None:
    """The connected account's name, or None when the service does not say."""
    namer = NAMERS.get(service)
    if namer is None:
        return None
    try:
        return await namer(tokens, http)
    except (ConnectorError, KeyError, TypeError, AttributeError) as exc:
        log.info("could not name the %s account: %s", service, exc)
        return None
