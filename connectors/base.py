"""The shape every connector has (think Home Assistant integrations, n8n nodes).

A connector module creates one `Connector` and declares its actions and events on it as
data: typed pydantic input/output models, a one-line description, scopes and an
idempotency flag. The registry collects them into the catalog that the validator, the
planner, the Block Kit renderer and `atom connectors` read.

    github = Connector(name="github", title="GitHub", auth=OAuth2Auth(...),
                       base_url_setting="github_base_url")

    @github.action(scopes=("repo",), idempotent=False)
    async def create_issue(ctx: ActionContext, data: CreateIssueInput) -> IssueOutput:
        \"\"\"Open a new issue in a repository.\"\"\"
        ...

Connectors never read the database: tokens arrive through `ActionContext.credentials`,
and every HTTP call goes through `ctx.http` (connectors/client.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, get_type_hints

import httpx
from pydantic import BaseModel

if TYPE_CHECKING:
    from connectors.artifacts import ArtifactStore
    from connectors.client import ServiceHttp


# --- errors --------------------------------------------------------------------------


class ConnectorError(Exception):
    """Base of every error a connector raises; `str(err)` is safe to show a user."""

    retryable: bool = False

    def __init__(self, message: str, *, service: str | None = None) -> None:
        super().__init__(message)
        self.service = service


class AuthExpired(ConnectorError):
    """The token is missing, expired or revoked: the user must reconnect the service."""

    def __init__(self, service: str, detail: str = "") -> None:
        suffix = f" ({detail})" if detail else ""
        super().__init__(
            f"Your {service} connection has expired or was revoked{suffix}. "
            f"Reconnect it with `/atom connect {service}`.",
            service=service,
        )


class NotConnected(AuthExpired):
    """No credentials at all for the service; `advice` says where to provide them (in
    Slack `/atom connect`, in the terminal the --credentials file)."""

    def __init__(self, service: str, advice: str = "") -> None:
        ConnectorError.__init__(
            self,
            f"{service} is not connected. "
            + (advice or f"Connect it with `/atom connect {service}`."),
            service=service,
        )


class PermissionDenied(ConnectorError):
    """Authenticated, but the token lacks a scope or the user lacks access."""


class NotFound(ConnectorError):
    """The thing the action refers to does not exist (or is not visible to this user)."""


class InvalidInput(ConnectorError):
    """The service rejected the input; the message carries the service's own words."""


class TransientError(ConnectorError):
    """A failure that may succeed later. `request_may_have_been_sent` tells the engine
    whether a non-idempotent action might already have taken effect."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        service: str | None = None,
        retry_after: float | None = None,
        request_may_have_been_sent: bool = False,
    ) -> None:
        super().__init__(message, service=service)
        self.retry_after = retry_after
        self.request_may_have_been_sent = request_may_have_been_sent


class RateLimited(TransientError):
    """The service said 429 (or its own rate-limit signal); nothing was done."""


class Unavailable(TransientError):
    """The service is down, timing out, answering 5xx, or its circuit is open."""


class WebhookRejected(ConnectorError):
    """An inbound webhook failed signature verification or could not be parsed."""


# --- credentials ---------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """What an action authenticates with. `extra` carries service specifics
    (Trello's API key, a Google account e-mail, …)."""

    access_token: str
    extra: Mapping[str, str] = field(default_factory=dict)


class CredentialSource(Protocol):
    """Where `ActionContext` gets credentials. The vault implements it; so does
    `StaticCredentials` for the CLI and tests."""

    async def current(self) -> Credentials: ...

    async def refreshed(self, stale: Credentials) -> Credentials | None:
        """Fresh credentials after the service rejected `stale` (401), or None if they
        cannot be refreshed (the caller then raises AuthExpired)."""
        ...


@dataclass(frozen=True)
class StaticCredentials:
    credentials: Credentials

    async def current(self) -> Credentials:
        return self.credentials

    async def refreshed(self, stale: Credentials) -> Credentials | None:
        return None


@dataclass(frozen=True)
class MissingCredentials:
    """A service nobody gave credentials for: using it raises NotConnected with `advice`."""

    service: str
    advice: str

    async def current(self) -> Credentials:
        raise NotConnected(self.service, self.advice)

    async def refreshed(self, stale: Credentials) -> Credentials | None:
        return None


RequestSigner = Callable[[httpx.Request, Credentials], None]
ErrorReader = Callable[[httpx.Response], str]
RateLimitSignal = Callable[[httpx.Response], bool]
"""Whether an error response means "rate limited" in the service's own way (beyond 429
and a 403 carrying Retry-After / X-RateLimit-Remaining: 0, which the client knows)."""


def bearer(request: httpx.Request, credentials: Credentials) -> None:
    request.headers["Authorization"] = f"Bearer {credentials.access_token}"


def no_rate_limit_signal(_response: httpx.Response) -> bool:
    """For services whose only rate-limit signals are the standard ones."""
    return False


def read_error_message(response: httpx.Response) -> str:
    """The service's own words from an error body, whatever its shape."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:300]
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):  # Google
        return str(error["message"])
    if body.get("error_summary"):  # Dropbox
        return str(body["error_summary"])
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):  # Asana, GitHub
        details = "; ".join(str(e.get("message") or e.get("code") or e) for e in errors)
        return f"{body['message']}: {details}" if body.get("message") else details
    for key in ("message", "error_description", "error"):
        if body.get(key):
            return str(body[key])
    return str(body)[:300]


# --- auth specs ----------------------------------------------------------------------


@dataclass(frozen=True)
class NoAuth:
    kind: str = "none"


@dataclass(frozen=True)
class OAuth2Auth:
    """An OAuth 2 provider. Scopes requested are the union of the actions' scopes."""

    authorize_url: str
    token_url: str
    revoke_url: str | None = None
    pkce: bool = True
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)
    client_id_setting: str = ""
    client_secret_setting: str = ""
    kind: str = "oauth2"


@dataclass(frozen=True)
class TokenAuth:
    """A service authorised with its own token flow (Trello's `1/authorize`)."""

    authorize_url: str
    api_key_setting: str
    kind: str = "token"


AuthSpec = NoAuth | OAuth2Auth | TokenAuth


# --- actions and events --------------------------------------------------------------


@dataclass
class ActionContext:
    """Everything an action may use. Built by the engine (or the CLI) per step."""

    team_id: str
    user_id: str | None
    http: ServiceHttp
    credentials: CredentialSource | None = None
    idempotency_key: str | None = None
    artifacts: ArtifactStore | None = None  # where downloads keep files for later steps

    def artifact_store(self) -> ArtifactStore:
        """The store for files passed between steps (set by the engine and the CLI)."""
        if self.artifacts is None:
            raise ConnectorError("This action passes files between steps; run it in a workflow.")
        return self.artifacts


ActionHandler = Callable[[ActionContext, Any], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Action:
    connector: str
    name: str
    description: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    handler: ActionHandler
    scopes: tuple[str, ...]
    idempotent: bool

    @property
    def key(self) -> str:
        return f"{self.connector}.{self.name}"

    async def run(self, ctx: ActionContext, inputs: Mapping[str, Any]) -> BaseModel:
        """Validate `inputs` against the input model and call the handler.
        A pydantic ValidationError here means the workflow's inputs are wrong."""
        return await self.handler(ctx, self.input_model.model_validate(dict(inputs)))


@dataclass(frozen=True)
class EventItem:
    """One thing that happened: `id` deduplicates it, `payload` becomes `trigger.*`."""

    id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class PollResult:
    items: list[EventItem]
    cursor: str


@dataclass(frozen=True)
class WebhookRequest:
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


PollFn = Callable[[ActionContext, Any, str | None], Awaitable[PollResult]]
"""poll(ctx, config, cursor): new items since `cursor`. With cursor None (first activation)
it returns no items and a cursor meaning "now" — no backfill storm."""

WebhookFn = Callable[[WebhookRequest, str | None], list[EventItem]]
"""parse(request, secret): items in a verified delivery; raises WebhookRejected."""

MatchFn = Callable[[Any, dict[str, Any]], bool]
"""matches(config, payload): whether a delivered item concerns this workflow's trigger."""


def _always(_config: Any, _payload: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Event:
    connector: str
    name: str
    description: str
    config_model: type[BaseModel]
    payload_model: type[BaseModel]
    poll: PollFn | None = None
    webhook: WebhookFn | None = None
    matches: MatchFn = _always
    scopes: tuple[str, ...] = ()
    sample: dict[str, Any] | None = None
    """A realistic payload (valid for `payload_model`): what `atom execute --sandbox` and
    `atom events sample` use when no real delivery is at hand."""
    occurred_at: str | None = None
    """Dotted path of the payload field saying when the event happened (`issue.created_at`):
    what a run's `now` is, so "tomorrow" in its templates means the day after the event."""

    @property
    def key(self) -> str:
        return f"{self.connector}.{self.name}"


# --- the connector -------------------------------------------------------------------


@dataclass
class Connector:
    name: str
    title: str
    auth: AuthSpec
    base_url_setting: str
    description: str = ""
    sign_request: RequestSigner = bearer
    read_error: ErrorReader = read_error_message
    is_rate_limited: RateLimitSignal = no_rate_limit_signal
    actions: dict[str, Action] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)

    def action(
        self, *, scopes: tuple[str, ...] = (), idempotent: bool, name: str | None = None
    ) -> Callable[[ActionHandler], ActionHandler]:
        """Declare an action; its models come from the handler's type hints and its
        description from the docstring's first line."""

        def register(handler: ActionHandler) -> ActionHandler:
            hints = get_type_hints(handler)
            params = list(inspect.signature(handler).parameters)
            action_name = name or handler.__name__
            self.actions[action_name] = Action(
                connector=self.name,
                name=action_name,
                description=_first_line(handler),
                input_model=hints[params[1]],
                output_model=hints["return"],
                handler=handler,
                scopes=scopes,
                idempotent=idempotent,
            )
            return handler

        return register

    def event(
        self,
        *,
        name: str,
        description: str,
        config_model: type[BaseModel],
        payload_model: type[BaseModel],
        poll: PollFn | None = None,
        webhook: WebhookFn | None = None,
        matches: MatchFn = _always,
        scopes: tuple[str, ...] = (),
        sample: dict[str, Any] | None = None,
        occurred_at: str | None = None,
    ) -> Event:
        event = Event(
            connector=self.name,
            name=name,
            description=description,
            config_model=config_model,
            payload_model=payload_model,
            poll=poll,
            webhook=webhook,
            matches=matches,
            scopes=scopes,
            sample=sample,
            occurred_at=occurred_at,
        )
        self.events[name] = event
        return event

    def scopes(self, action_names: list[str] | None = None) -> list[str]:
        """The scopes needed for `action_names` (all actions and events if None)."""
        chosen = [a for n, a in self.actions.items() if action_names is None or n in action_names]
        wanted = {s for a in chosen for s in a.scopes}
        if action_names is None:
            wanted |= {s for e in self.events.values() for s in e.scopes}
        return sorted(wanted)


def _first_line(handler: Callable[..., Any]) -> str:
    doc = inspect.getdoc(handler) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


# --- credential providers ----------------------------------------------------------------


class CredentialProvider(Protocol):
    """Where the engine gets a user's credentials for a service. The token vault
    implements it; `StaticCredentialProvider` serves the CLI, the sandbox and tests."""

    async def for_service(
        self, team_id: str, user_id: str | None, service: str
    ) -> CredentialSource | None:
        """The credentials `user_id` of `team_id` connected for `service`, or None."""
        ...


@dataclass(frozen=True)
class StaticCredentialProvider:
    """The same credentials per service for every team and user. With `missing_advice`
    a service without credentials raises NotConnected carrying that advice when used."""

    sources: Mapping[str, CredentialSource] = field(default_factory=dict)
    missing_advice: str | None = None

    @classmethod
    def from_tokens(
        cls, tokens: Mapping[str, Mapping[str, Any]], missing_advice: str | None = None
    ) -> StaticCredentialProvider:
        """From `{service: {"access_token": …, "extra": {…}}}` (what
        `Emulator.issue_token` and `Sandbox.credentials` return)."""
        return cls(
            {
                service: StaticCredentials(
                    Credentials(str(token["access_token"]), dict(token.get("extra") or {}))
                )
                for service, token in tokens.items()
            },
            missing_advice,
        )

    async def for_service(
        self, team_id: str, user_id: str | None, service: str
    ) -> CredentialSource | None:
        source = self.sources.get(service)
        if source is None and self.missing_advice is not None:
            return MissingCredentials(service, self.missing_advice.format(service=service))
        return source
