"""Connecting an account in the browser.

- `GET /oauth/{service}/start?state=…` (the link `/atom connect` hands out) redirects to
  the provider's consent page.
- `GET /oauth/{service}/callback?code=…&state=…` (or `error=…`) finishes: the tokens are
  stored, the user gets a DM, and the tab a short page.
- Trello returns its token in the URL fragment, which browsers never send: the callback
  then answers with a page whose script posts the fragment back to
  `POST /oauth/{service}/callback` (form: state, token or error).

Every answer is `no-store` and `no-referrer`, so neither codes nor states linger in caches
or leak to other sites.
"""

from __future__ import annotations

import html
import re
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from connectors.connections import CallbackParams, ConnectError, Connections

router = APIRouter(tags=["oauth"])

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def get_connections(request: Request) -> Connections:
    return request.app.state.connections


ConnectionsDep = Annotated[Connections, Depends(get_connections)]


@router.get("/oauth/{service}/start")
async def start(service: str, connections: ConnectionsDep, state: str = "") -> Response:
    """Send the browser to the provider's consent page."""
    try:
        url = await connections.authorization_redirect(service, state)
    except ConnectError as exc:
        return _page("Cannot connect", str(exc), exc.status)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


@router.get("/oauth/{service}/callback")
async def callback(
    service: str,
    connections: ConnectionsDep,
    state: str = "",
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    """The provider sent the browser back: finish connecting."""
    if code is None and error is None and connections.uses_token_flow(service):
        return _fragment_relay(service, state)
    params = CallbackParams(code=code, error=error, error_description=error_description)
    return await _complete(connections, service, state, params)


@router.post("/oauth/{service}/callback")
async def callback_form(service: str, request: Request, connections: ConnectionsDep) -> Response:
    """What the fragment relay page posts (token flows such as Trello's)."""
    form = dict(parse_qsl((await request.body()).decode()))
    params = CallbackParams(token=form.get("token") or None, error=form.get("error") or None)
    return await _complete(connections, service, form.get("state", ""), params)


async def _complete(
    connections: Connections, service: str, state: str, params: CallbackParams
) -> Response:
    try:
        info = await connections.complete(service, state, params)
    except ConnectError as exc:
        return _page("Not connected", str(exc), exc.status)
    who = f" as {info.account}" if info.account else ""
    return _page(
        f"{info.title} connected", f"{info.title} connected{who} — you can close this tab."
    )


_CODE = re.compile(r"`([^`]+)`")


def _page(title: str, message: str, status: int = 200) -> HTMLResponse:
    body = _CODE.sub(r"<code>\1</code>", html.escape(message))
    return HTMLResponse(
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} · ATOM</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;"
        "padding:0 1em;line-height:1.5}code{background:#eee;padding:0 .2em}</style>"
        f"</head><body><h1>{html.escape(title)}</h1><p>{body}</p></body></html>",
        status_code=status,
        headers=NO_STORE,
    )


def _fragment_relay(service: str, state: str) -> HTMLResponse:
    """A page that posts `#token=…` (or its absence: the user declined) to the callback,
    after taking it out of the address bar."""
    action = html.escape(f"/oauth/{service}/callback")
    return HTMLResponse(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Connecting · ATOM</title>"
        "</head><body><p>Connecting…</p>"
        f"<form id='relay' method='post' action='{action}'>"
        f"<input type='hidden' name='state' value='{html.escape(state, quote=True)}'>"
        "<input type='hidden' name='token'><input type='hidden' name='error'></form>"
        "<noscript>Connecting needs JavaScript to read the token your browser holds.</noscript>"
        "<script>"
        "var answer = new URLSearchParams(location.hash.slice(1));"
        "var form = document.getElementById('relay');"
        "if (answer.get('token')) { form.token.value = answer.get('token'); }"
        " else { form.error.value = answer.get('error') || 'access_denied'; }"
        "history.replaceState(null, '', location.pathname + location.search);"
        "form.submit();"
        "</script></body></html>",
        headers=NO_STORE,
    )
