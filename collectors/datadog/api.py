"""Datadog API calls with orgtop's rules for rate limits, retries and errors.

datadog-api-client can retry by itself (``enable_retry``): it sleeps for
``X-RateLimit-Reset`` seconds without reporting it. orgtop must show that it
waited and must stop waiting when the reset lies further away than a refresh
may wait, so the client's retry stays off and :class:`Session` retries
instead. Every failure becomes a :class:`DatadogError` subclass whose
``status`` the fan-out maps to an error kind and whose message tells the
user what to fix.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiosonic.exceptions import AiosonicError, BaseTimeout
from datadog_api_client import AsyncApiClient, Configuration
from datadog_api_client.exceptions import ApiException, ApiTypeError, ApiValueError
from datadog_api_client.v1.api.authentication_api import AuthenticationApi

from collectors.datadog.settings import DatadogSettings

log = logging.getLogger(__name__)

SERVER_ERROR_RETRIES = 2
"""Extra attempts after an HTTP 5xx response, one and then two seconds apart."""

SCOPES = {"QueryMetrics": "timeseries_query", "ListMonitors": "monitors_read"}
"""Application-key permission each operation needs (Datadog's API reference)."""


class DatadogError(Exception):
    """A failed Datadog request, with the HTTP status when there was one."""

    def __init__(self, message: str, *, operation: str, status: int | None = None):
        super().__init__(message)
        self.status = status
        self.operation_name = operation


class Forbidden(DatadogError):
    """HTTP 401 or 403: a key or the site is wrong."""


class RateLimited(DatadogError):
    """HTTP 429 with a reset further away than the refresh may wait."""

    def __init__(self, message: str, *, operation: str, reset_seconds: float):
        super().__init__(message, operation=operation, status=429)
        self.reset_seconds = reset_seconds


class BadRequest(DatadogError):
    """HTTP 400: Datadog rejected the request, usually the query string."""


class ServerError(DatadogError):
    """HTTP 5xx after the retries."""


class UnexpectedResponse(DatadogError):
    """A response that is not Datadog's JSON, such as a proxy's HTML page."""


class Unreachable(DatadogError):
    """No HTTP response at all: refused connection, DNS or TLS failure."""


class RequestTimedOut(DatadogError, TimeoutError):
    """No response within ``request_timeout_seconds``."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The ``X-RateLimit-*`` headers of one response; None where one is missing."""

    name: str
    limit: int | None
    period: int | None
    remaining: int | None
    reset: int | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, Any] | None) -> RateLimit:
        """Read the headers case-insensitively, ignoring values that are not numbers."""
        lowered = {
            str(key).lower(): str(value) for key, value in (headers or {}).items()
        }

        def number(key: str) -> int | None:
            value = lowered.get(f"x-ratelimit-{key}", "").strip()
            return int(value) if value.isdigit() else None

        return cls(
            lowered.get("x-ratelimit-name", ""),
            number("limit"),
            number("period"),
            number("remaining"),
            number("reset"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Convert to the JSON shape of the snapshot section."""
        return {
            "name": self.name,
            "limit": self.limit,
            "period": self.period,
            "remaining": self.remaining,
            "reset": self.reset,
        }


def build_configuration(settings: DatadogSettings) -> Configuration:
    """Build the client configuration: site or host, keys, timeout, no retries."""
    configuration = Configuration(
        api_key={"apiKeyAuth": settings.api_key, "appKeyAuth": settings.app_key},
        request_timeout=settings.request_timeout_seconds,
        return_http_data_only=False,
        enable_retry=False,
    )
    # Type-checking every point of every series costs about 2.5 ms of CPU per
    # series of 48 points (measured with 2.62.0), which is seconds for an org of
    # a thousand accounts; Session.call checks the response's outer type instead.
    configuration.check_return_type = False
    # Configuration() copies DD_SITE from the environment over the server
    # variables; the settings already applied DD_SITE, so they decide.
    configuration.server_variables["site"] = settings.site
    if settings.host:
        configuration.host = settings.host
    if settings.proxy:
        configuration.proxy = settings.proxy
    return configuration


@asynccontextmanager
async def open_client(configuration: Configuration) -> AsyncIterator[AsyncApiClient]:
    """Open an async API client and close its connection pool on every exit."""
    client = AsyncApiClient(configuration)
    try:
        yield client
    finally:
        # AsyncApiClient.__aexit__ re-raises a pending exception before it
        # closes the pool, so it is always called as if none were pending.
        await client.__aexit__(None, None, None)


class Session:
    """Makes the requests of one refresh and records waits and request counts."""

    def __init__(
        self,
        settings: DatadogSettings,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float],
    ) -> None:
        """Start the wait budget: waits for a reset must end by ``max_wait_seconds``."""
        self.settings = settings
        self.sleep = sleep
        self.clock = clock
        self.deadline = clock() + settings.max_wait_seconds
        self.requests: Counter[str] = Counter()
        self.waits: list[dict[str, Any]] = []
        self.limited: list[dict[str, Any]] = []
        self.limits: dict[str, dict[str, Any]] = {}

    async def call(
        self,
        operation: str,
        method: Callable[..., Any],
        expected: type,
        **kwargs: Any,
    ) -> Any:
        """Call an API method; wait out HTTP 429 within the budget, retry 5xx.

        ``method`` belongs to an API class built on an ``AsyncApiClient``, so
        it returns an awaitable although the client types it as returning the
        response. ``expected`` is the type a well-formed response deserializes to;
        any other response, such as a proxy's HTML page with status 200, raises
        :class:`UnexpectedResponse`.
        """
        server_errors = 0
        while True:
            self.requests[operation] += 1
            try:
                data, _status, headers = await method(**kwargs)
            except ApiException as error:
                status = error.status or 0
                if status == 429:
                    await self._wait_for_reset(operation, error)
                    continue
                if status >= 500 and server_errors < SERVER_ERROR_RETRIES:
                    server_errors += 1
                    log.info(
                        "datadog %s: HTTP %d, retry %d",
                        operation,
                        status,
                        server_errors,
                    )
                    await self.sleep(float(server_errors))
                    continue
                raise http_error(operation, error, self.settings) from None
            except (ApiTypeError, ApiValueError):
                # The client keeps no body when it cannot deserialize one.
                raise UnexpectedResponse(
                    f"Datadog's response to {operation} at {self.settings.api_url} is "
                    "not the JSON the API documents; a proxy or captive portal may "
                    "be responding instead of Datadog",
                    operation=operation,
                    status=200,
                ) from None
            except (TimeoutError, BaseTimeout):
                raise RequestTimedOut(
                    f"{operation} at {self.settings.api_url} timed out after "
                    f"{self.settings.request_timeout_seconds:g} s",
                    operation=operation,
                ) from None
            except (OSError, AiosonicError) as error:
                raise Unreachable(
                    f"cannot reach {self.settings.api_url} for {operation}: {error}",
                    operation=operation,
                ) from None
            limit = RateLimit.from_headers(headers)
            if limit.name or limit.limit is not None:
                self.limits[limit.name or operation] = limit.to_dict()
            if not isinstance(data, expected):
                detail = error_detail(data, headers)
                if isinstance(detail, HtmlPage):
                    detail = f"an HTML page titled {detail.title!r}"
                raise UnexpectedResponse(
                    f"Datadog's response to {operation} at {self.settings.api_url} is "
                    f"not the JSON the API documents but {detail}; a proxy or "
                    "captive portal may be responding instead of Datadog",
                    operation=operation,
                    status=200,
                )
            return data

    async def _wait_for_reset(self, operation: str, error: ApiException) -> None:
        limit = RateLimit.from_headers(error.headers)
        # Datadog's reset is the number of seconds until the period restarts.
        # Without one, the period is the documented time to wait.
        reset = float(limit.reset if limit.reset is not None else limit.period or 1)
        record = {"operation": operation, "reset_seconds": reset, **limit.to_dict()}
        if self.clock() + reset > self.deadline:
            self.limited.append(record)
            log.warning(
                "datadog %s: rate-limited (%s), reset in %.0f s is past the budget",
                operation,
                limit.name or "unnamed limit",
                reset,
            )
            raise RateLimited(
                f"Datadog rate-limits {operation} ({limit.name or 'unnamed limit'}); "
                f"it resets in {reset:.0f} s, longer than max_wait_seconds "
                f"({self.settings.max_wait_seconds:g})",
                operation=operation,
                reset_seconds=reset,
            )
        self.waits.append(record)
        log.info(
            "datadog %s: rate-limited, waiting %.0f s for the reset", operation, reset
        )
        await self.sleep(reset)

    def report(self) -> dict[str, Any]:
        """Return the waits, the limits still in force and the last headers seen."""
        return {
            "waited_seconds": sum(wait["reset_seconds"] for wait in self.waits),
            "waits": list(self.waits),
            "limited": list(self.limited),
            "limits": dict(self.limits),
        }

    async def explain_forbidden(
        self, error: Forbidden, client: AsyncApiClient
    ) -> Forbidden:
        """Find out which key is rejected by validating the API key alone."""
        settings = self.settings
        where = (
            f"{settings.api_url} (site {settings.site}, from {settings.site_source})"
        )
        self.requests["Validate"] += 1
        validate: Callable[[], Any] = AuthenticationApi(client).validate
        try:
            await validate()
        except ApiException as check:
            if check.status not in (401, 403):
                return error
            return Forbidden(
                f"Datadog rejected the API key from {settings.api_key_source} at "
                f"{where}. The key is wrong or revoked, or it belongs to another "
                "Datadog site: check the key, or set DD_SITE to the site your "
                "organization signs in to (such as us5.datadoghq.com or datadoghq.eu).",
                operation=error.operation_name,
                status=error.status,
            )
        except (ApiTypeError, ApiValueError, BaseTimeout, OSError, AiosonicError):
            return error
        scope = SCOPES.get(error.operation_name, "the needed")
        return Forbidden(
            f"Datadog accepted the API key at {where} but rejected the application "
            f"key from {settings.app_key_source} for {error.operation_name}. The key "
            f"is wrong or revoked, or it lacks the {scope} permission: check it, or "
            "create an application key with that permission and set DD_APP_KEY.",
            operation=error.operation_name,
            status=error.status,
        )


def http_error(
    operation: str, error: ApiException, settings: DatadogSettings
) -> DatadogError:
    """Turn an HTTP error response into a :class:`DatadogError` naming the failure."""
    status = error.status or 0
    detail = error_detail(error.body, error.headers)
    prefix = f"{operation} at {settings.api_url}: HTTP {status}"
    if isinstance(detail, HtmlPage):
        return UnexpectedResponse(
            f"{prefix} with an HTML page instead of Datadog's JSON ({detail.title}); "
            "a proxy or firewall may be responding instead of Datadog",
            operation=operation,
            status=status,
        )
    if status in (401, 403):
        return Forbidden(f"{prefix}: {detail}", operation=operation, status=status)
    if status == 400:
        return BadRequest(
            f"{prefix}: Datadog rejected the request: {detail}",
            operation=operation,
            status=status,
        )
    if status >= 500:
        return ServerError(
            f"{prefix} after {SERVER_ERROR_RETRIES + 1} attempts: {detail}",
            operation=operation,
            status=status,
        )
    return DatadogError(f"{prefix}: {detail}", operation=operation, status=status)


@dataclass(frozen=True, slots=True)
class HtmlPage:
    """An HTML error page, known by its title."""

    title: str


def error_detail(body: Any, headers: Mapping[str, Any] | None) -> str | HtmlPage:
    """Return Datadog's error text from a response body of any shape.

    Datadog sends ``{"errors": ["..."]}``. Anything else (an HTML page from a
    proxy, plain text, an empty body) is summarised without raising.
    """
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(item) for item in errors)
        if body.get("error"):
            return str(body["error"])
        return "no error message in the response"
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    text = str(body or "").strip()
    content_type = {str(k).lower(): str(v) for k, v in (headers or {}).items()}.get(
        "content-type", ""
    )
    if "html" in content_type or re.match(r"(?is)\s*(<!doctype html|<html)", text):
        title = re.search(r"(?is)<title[^>]*>(.*?)</title>", text) or re.search(
            r"(?is)<h1[^>]*>(.*?)</h1>", text
        )
        found = re.sub(r"\s+", " ", title.group(1)).strip() if title else ""
        return HtmlPage(found[:120] or "no title")
    if not text:
        return "empty response"
    return re.sub(r"\s+", " ", text)[:200]
