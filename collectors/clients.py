"""The one factory for AWS clients: endpoint, retries, timeouts, pool and TLS.

Every AWS client in orgtop comes from :class:`ClientFactory`. It holds one
aioboto3 session and one SSL context for the whole process: aiobotocore
otherwise loads the CA bundle again for every client it creates, which costs
more CPU than the request itself.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import ssl
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import aioboto3
import aiobotocore.session
import aiohttp
from aiobotocore.client import AioClientCreator
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioCredentials
from aiobotocore.httpsession import AIOHTTPSession
from botocore.httpsession import get_cert_path
from botocore.utils import parse_timestamp as botocore_parse_timestamp

log = logging.getLogger(__name__)


@cache
def shared_ssl_context(verify: str | bool = True) -> ssl.SSLContext:
    """Build the process-wide SSL context, honouring ``AWS_CA_BUNDLE``."""
    context = ssl.create_default_context()
    bundle = os.environ.get("AWS_CA_BUNDLE") or get_cert_path(verify)
    if isinstance(bundle, str) and bundle:
        context.load_verify_locations(cafile=bundle)
    return context


def parse_timestamp(value: Any) -> datetime:
    """Parse a timestamp of an AWS response, quickly when it is ISO 8601 with a zone.

    botocore parses every timestamp through dateutil, which took about 100 us
    per value against 0.1 us for ``datetime.fromisoformat`` (timeit, botocore
    1.40.61, on a 2-core machine). A 20-query ``GetMetricData`` response
    carries 280 of them. Other forms (RFC 822 text, epoch numbers, times
    without a zone) go to botocore's parser.
    """
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    return botocore_parse_timestamp(value)  # type: ignore[no-any-return]


_CLIENT_CLASSES: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], type]] = (
    weakref.WeakKeyDictionary()
)
"""Client classes by session event emitter, then by service and API version."""


def share_client_classes(botocore_session: Any) -> None:
    """Make the session build each service's client class once, not per client.

    aiobotocore builds a new class with one method per operation for every
    client it creates: for ``ec2`` (about 750 operations) that cost 13 ms of
    CPU and 1.2 MiB per client, against 2 ms and 0.1 MiB with a shared class
    (aiobotocore 2.25.1, 300 clients, on a 2-core machine). The classes hold
    only methods, so clients of one service can share one. aiobotocore has no
    hook for this, so :class:`AioClientCreator` gets a wrapper that caches
    only for sessions passed here and leaves every other session alone.
    """
    emitter = botocore_session.get_component("event_emitter")
    _CLIENT_CLASSES.setdefault(emitter, {})
    if getattr(AioClientCreator._create_client_class, "shares_classes", False):
        return
    build_class = AioClientCreator._create_client_class

    async def create_client_class(
        creator: AioClientCreator, service_name: str, service_model: Any
    ) -> type:
        classes = _CLIENT_CLASSES.get(creator._event_emitter)
        if classes is None:
            return await build_class(creator, service_name, service_model)  # type: ignore[no-any-return]
        key = (service_name, service_model.api_version)
        if key not in classes:
            classes[key] = await build_class(creator, service_name, service_model)
        return classes[key]

    create_client_class.shares_classes = True  # type: ignore[attr-defined]
    AioClientCreator._create_client_class = create_client_class  # type: ignore[method-assign]


class SharedContextHTTPSession(AIOHTTPSession):
    """aiobotocore's HTTP session, reusing one SSL context for every connector."""

    def _create_connector(self, proxy_url: str | None) -> aiohttp.TCPConnector:
        if proxy_url and self._proxy_config.settings:
            return super()._create_connector(proxy_url)  # type: ignore[no-any-return]
        context: ssl.SSLContext | bool = False
        if self._verify:
            verify = self._verify if isinstance(self._verify, str) else True
            context = shared_ssl_context(verify)
        return aiohttp.TCPConnector(
            limit=self._max_pool_connections, ssl=context, **self._connector_args
        )


@dataclass(frozen=True, slots=True)
class Credentials:
    """A set of AWS credentials; ``repr`` never shows the secret parts."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    expiration: float | None = None


class TaskCredentials(AioCredentials):  # type: ignore[misc]
    """Role credentials a call on a shared client signs with, and their role."""

    def __init__(self, credentials: Credentials, role: str) -> None:
        """Wrap ``credentials`` of the session of ``role`` (an ARN)."""
        super().__init__(
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.session_token,
        )
        self.role = role


REQUEST_CREDENTIALS: contextvars.ContextVar[TaskCredentials | None] = (
    contextvars.ContextVar("orgtop_request_credentials", default=None)
)
"""The credentials of the call running in this asyncio task, if any.

Each asyncio task has its own value, so tasks of many accounts can share one
client per service and region and still sign as their own role.
"""

SHARED_KEY = "shared"
"""Client-cache key of the clients shared by every role session."""

_UNSET = Credentials("ORGTOPSHAREDCLIENT", "unset")
"""Placeholder credentials of shared clients; every call signs with its own."""


def _sign_with_request_credentials(context: dict[str, Any], **_: Any) -> None:
    credentials = REQUEST_CREDENTIALS.get()
    if credentials is None:
        raise RuntimeError(
            "a shared AWS client was called without role credentials; "
            "calls must go through TaskCaller.call"
        )
    # botocore (1.40) signs with signing["request_credentials"] when present,
    # instead of the client's own credentials.
    context.setdefault("signing", {})["request_credentials"] = credentials


@dataclass
class ClientSettings:
    """Settings every client shares: endpoint, retries, timeouts and pool size."""

    endpoint_url: str | None = None
    retry_mode: str = "standard"
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    pool_size: int = 50


class RequestCounter:
    """Counts HTTP attempts and retries per ``service.Operation`` on the client side."""

    def __init__(self) -> None:
        """Start with zero counts."""
        self.attempts: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        """Register the counting handlers on one client's event system."""
        client.meta.events.register("before-send", self._on_send)
        client.meta.events.register("before-call", self._on_call)

    def _on_send(self, event_name: str, **_: Any) -> None:
        self.attempts[_operation_key(event_name)] += 1

    def _on_call(self, event_name: str, **_: Any) -> None:
        self.calls[_operation_key(event_name)] += 1

    @property
    def retries(self) -> int:
        """Attempts beyond the first of each call."""
        return sum(self.attempts.values()) - sum(self.calls.values())


def _operation_key(event_name: str) -> str:
    parts = event_name.split(".")
    return f"{parts[1]}.{parts[2]}" if len(parts) >= 3 else event_name


class ClientFactory:
    """Creates and keeps AWS clients for the life of the process or refresh.

    Role sessions share one client per service and region
    (:meth:`shared_client`); each call signs with the credentials its task
    sets in :data:`REQUEST_CREDENTIALS`. Clients per role session, about
    three per account and region at roughly 0.15 MB each, used to put the
    peak memory of a 1,000-account refresh near 2 GB. Source credentials
    and role switching still get clients of their own.
    """

    def __init__(self, settings: ClientSettings | None = None) -> None:
        """Create the shared session; clients are opened lazily."""
        self.settings = settings or ClientSettings()
        botocore_session = aiobotocore.session.get_session()
        parsers = botocore_session.get_component("response_parser_factory")
        parsers.set_parser_defaults(timestamp_parser=parse_timestamp)
        share_client_classes(botocore_session)
        self.session = aioboto3.Session(botocore_session=botocore_session)
        self.counter = RequestCounter()
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._contexts: dict[tuple[Any, ...], Any] = {}
        self._locks: dict[tuple[Any, ...], asyncio.Lock] = {}
        self._retired: list[Any] = []
        self._config = AioConfig(
            retries={
                "mode": self.settings.retry_mode,
                "max_attempts": self.settings.max_attempts,
            },
            connect_timeout=self.settings.connect_timeout,
            read_timeout=self.settings.read_timeout,
            max_pool_connections=self.settings.pool_size,
            http_session_cls=SharedContextHTTPSession,
        )

    @property
    def open_clients(self) -> int:
        """Number of clients currently open."""
        return len(self._clients)

    async def client(
        self, service: str, region: str, credentials: Credentials, key: str = ""
    ) -> Any:
        """Return an open client, reused for the same key, service and region.

        ``key`` names the credentials (a role ARN and its session's expiry) so a
        renewed session gets new clients while old ones are closed by
        :meth:`forget`.
        """
        cache_key = (key or credentials.access_key_id, service, region)
        existing = self._clients.get(cache_key)
        if existing is not None:
            return existing
        # Two tasks asking for the same client at once must not open two.
        lock = self._locks.setdefault(cache_key, asyncio.Lock())
        async with lock:
            existing = self._clients.get(cache_key)
            if existing is not None:
                return existing
            return await self._open(cache_key, service, region, credentials)

    async def shared_client(self, service: str, region: str) -> Any:
        """Return the client of ``service`` in ``region`` that every role shares."""
        return await self.client(service, region, _UNSET, SHARED_KEY)

    async def _open(
        self,
        cache_key: tuple[Any, ...],
        service: str,
        region: str,
        credentials: Credentials,
    ) -> Any:
        context = self.session.client(
            service,
            region_name=region,
            endpoint_url=self.settings.endpoint_url,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            config=self._config,
        )
        client = await context.__aenter__()
        self.counter.attach(client)
        if cache_key[0] == SHARED_KEY:
            client.meta.events.register(
                "before-parameter-build", _sign_with_request_credentials
            )
        self._clients[cache_key] = client
        self._contexts[cache_key] = context
        return client

    async def forget(self, key: str) -> None:
        """Retire the clients opened under ``key`` (an expired role session).

        They are closed by :meth:`close_retired` once the refresh ends, not
        here: another task may still be sending a request with one, and a
        closed aiobotocore client would open a connection pool nobody closes.
        """
        for cache_key in [k for k in self._clients if k[0] == key]:
            self._clients.pop(cache_key)
            self._locks.pop(cache_key, None)
            self._retired.append(self._contexts.pop(cache_key))

    async def close_retired(self) -> None:
        """Close the clients of renewed sessions."""
        retired, self._retired = self._retired, []
        for context in retired:
            await context.__aexit__(None, None, None)

    async def close(self) -> None:
        """Close every client."""
        for cache_key in list(self._clients):
            await self.forget(cache_key[0])
        await self.close_retired()
