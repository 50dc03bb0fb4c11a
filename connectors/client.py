"""The one HTTP client every connector uses.

`HttpPool` is process-wide: one pooled `httpx.AsyncClient` and one circuit breaker per
service. `ServiceHttp` is that pool bound to a connector's base URL and a user's
credentials. It adds the auth, retries what is safe to retry (429 always — the service
did nothing —, 5xx and dropped connections only for idempotent calls), honours
`Retry-After` and GitHub's `X-RateLimit-Reset`, refreshes credentials once on a 401, and
maps failures onto the ConnectorError family.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Collection
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from connectors.base import (
    AuthExpired,
    ConnectorError,
    Credentials,
    CredentialSource,
    ErrorReader,
    InvalidInput,
    NotConnected,
    NotFound,
    PermissionDenied,
    RateLimited,
    RateLimitSignal,
    RequestSigner,
    Unavailable,
    bearer,
    no_rate_limit_signal,
    read_error_message,
)

if TYPE_CHECKING:
    from connectors.base import Connector
    from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class CircuitBreaker:
    """Opens after `threshold` consecutive failures; lets one call through after
    `reset_seconds` (half-open) and closes again on its success."""

    threshold: int
    reset_seconds: float
    failures: int = 0
    opened_at: float | None = None

    def before_call(self, service: str) -> None:
        if self.opened_at is None:
            return
        remaining = self.reset_seconds - (time.monotonic() - self.opened_at)
        if remaining > 0:
            raise Unavailable(
                f"{service} has been failing repeatedly; ATOM paused calls to it for "
                f"{remaining:.0f}s more. Try again shortly.",
                service=service,
                retry_after=remaining,
            )

    def record_success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def record_failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = time.monotonic()


class HttpPool:
    """Process-wide HTTP resources: the pooled client and the per-service breakers."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.http_timeout_seconds, connect=5.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
            follow_redirects=False,
        )
        self.breakers: dict[str, CircuitBreaker] = {}

    def breaker(self, service: str) -> CircuitBreaker:
        if service not in self.breakers:
            self.breakers[service] = CircuitBreaker(
                self.settings.circuit_failure_threshold, self.settings.circuit_reset_seconds
            )
        return self.breakers[service]

    def for_connector(
        self, connector: Connector, credentials: CredentialSource | None = None
    ) -> ServiceHttp:
        return ServiceHttp(
            service=connector.name,
            base_url=getattr(self.settings, connector.base_url_setting),
            pool=self,
            credentials=credentials,
            sign=connector.sign_request,
            read_error=connector.read_error,
            is_rate_limited=connector.is_rate_limited,
        )

    async def aclose(self) -> None:
        await self.client.aclose()


# Failures that happen before the request left this machine: always safe to retry.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after the request may have reached the service.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)


class ServiceHttp:
    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        pool: HttpPool,
        credentials: CredentialSource | None,
        sign: RequestSigner = bearer,
        read_error: ErrorReader = read_error_message,
        is_rate_limited: RateLimitSignal = no_rate_limit_signal,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.pool = pool
        self.credentials = credentials
        self.sign = sign
        self.read_error = read_error
        self.is_rate_limited = is_rate_limited

    @property
    def settings(self) -> Settings:
        return self.pool.settings

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"

    def circuit_name(self, url: str) -> str:
        """The circuit breaker a call belongs to: the service's, or — for an absolute URL
        on another host (the generic http connector's targets, Dropbox's content host) —
        one per host, so one failing target does not cut off the others."""
        origin = httpx.URL(url).netloc.decode()
        base_origin = httpx.URL(self.base_url).netloc.decode() if self.base_url else ""
        return self.service if origin == base_origin else f"{self.service} ({origin})"

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        authenticated: bool = True,
        allow_status: Collection[int] = (),
        stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request and return a 2xx/3xx response, or raise a ConnectorError.

        `path` is relative to the base URL (or absolute, e.g. a Dropbox content URL);
        `allow_status` lists error statuses to return instead of raising (e.g. 410 Gone
        on a repeated delete); `kwargs` go to httpx (params, json, content, data, files,
        headers). With `stream` a 2xx body is left unread, for the caller to iterate
        (`aiter_bytes`) and close (`aclose`); error bodies are always read.
        """
        target = self.url(path)
        circuit = self.circuit_name(target)
        breaker = self.pool.breaker(circuit)
        credentials = await self._credentials() if authenticated else None
        refreshed = False
        attempt = 0
        while True:
            breaker.before_call(circuit)
            request = self.pool.client.build_request(method, target, **kwargs)
            if credentials is not None:
                self.sign(request, credentials)
            try:
                response = await self._send(request, stream=stream)
            except _NOT_SENT as exc:
                breaker.record_failure()
                error = Unavailable(
                    f"Could not reach {self.service}: {type(exc).__name__}.", service=self.service
                )
            except _MAYBE_SENT as exc:
                breaker.record_failure()
                error = Unavailable(
                    f"{self.service} did not answer ({type(exc).__name__}); the request may "
                    "or may not have taken effect.",
                    service=self.service,
                    request_may_have_been_sent=not idempotent,  # repeating is safe otherwise
                )
                if not idempotent:
                    raise error from exc
            else:
                if response.status_code == 401 and credentials is not None and not refreshed:
                    refreshed = True
                    credentials = await self._refresh(credentials, response)
                    continue
                error = (
                    None
                    if response.status_code in allow_status
                    else self._classify(response, idempotent, breaker, credentials is not None)
                )
                if error is None:
                    breaker.record_success()
                    return response
                if not error.retryable:
                    breaker.record_success()
                    raise error
            attempt += 1
            delay = self._retry_delay(error, attempt)
            if delay is None:
                raise error
            log.info(
                "retrying %s %s in %.2fs (attempt %d): %s",
                method,
                self.service,
                delay,
                attempt,
                error,
            )
            await asyncio.sleep(delay)

    async def json(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> Any:
        response = await self.request(method, path, idempotent=idempotent, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise Unavailable(
                f"{self.service} answered with something that is not JSON.", service=self.service
            ) from exc

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        started = time.perf_counter()
        response = await self.pool.client.send(request, stream=True)
        if not (stream and response.is_success):
            await response.aread()
        log.debug(
            "http %s %s %s -> %d in %.0fms",
            self.service,
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    async def _credentials(self) -> Credentials:
        if self.credentials is None:
            raise NotConnected(self.service)
        return await self.credentials.current()

    async def _refresh(self, stale: Credentials, rejection: httpx.Response) -> Credentials:
        """Credentials to retry with after the service rejected `stale` with a 401; if
        there are none, AuthExpired in the service's own words ("Bad credentials")."""
        fresh = await self.credentials.refreshed(stale) if self.credentials else None
        if fresh is None:
            raise AuthExpired(self.service, self.read_error(rejection))
        return fresh

    def _classify(
        self,
        response: httpx.Response,
        idempotent: bool,
        breaker: CircuitBreaker,
        signed: bool,
    ) -> ConnectorError | None:
        status = response.status_code
        if status < 400:
            return None
        message = f"{self.service}: {self.read_error(response)}"
        rate_wait = _rate_limit_wait(response)
        if (
            status == 429
            or (status == 403 and rate_wait is not None)
            or self.is_rate_limited(response)
        ):
            return RateLimited(message, service=self.service, retry_after=rate_wait)
        if status >= 500:
            breaker.record_failure()
            return Unavailable(
                message,
                service=self.service,
                retry_after=rate_wait,
                request_may_have_been_sent=not idempotent,
            )
        if status == 401 and signed:
            return AuthExpired(self.service, self.read_error(response))
        if status in (401, 403):  # an unsigned call has no connection to reconnect
            return PermissionDenied(message, service=self.service)
        if status in (404, 410):
            return NotFound(message, service=self.service)
        return InvalidInput(message, service=self.service)

    def _retry_delay(self, error: ConnectorError, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if attempt > self.settings.http_max_retries:
            return None
        if isinstance(error, Unavailable) and error.request_may_have_been_sent:
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return retry_after if retry_after <= self.settings.http_max_retry_wait_seconds else None
        return backoff_delay(attempt)


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter (attempt 1 -> up to `base` seconds)."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def _rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds the service asked us to wait: Retry-After (seconds or HTTP date), or
    GitHub's X-RateLimit-Reset when X-RateLimit-Remaining is 0."""
    retry_after = response.headers.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - time.time())
            except (TypeError, ValueError):
                return None
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = response.headers.get("x-ratelimit-reset")
        if reset and reset.isdigit():
            return max(0.0, int(reset) - time.time())
    return None
