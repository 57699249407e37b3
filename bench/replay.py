"""A replaying AWS endpoint in front of the demo world, for benchmarks.

moto spends about 13 ms of CPU per request, so at a few hundred requests a
second moto, not orgtop, would set the pace. :class:`ReplayProxy` forwards
the first request of each shape to the demo world and records the response.
It serves every later request of that shape from the recording after a fixed
added latency, and it counts every request it receives.

A request's shape is its signer, service, operation, region, path, query and
body, with the member account it concerns replaced by a placeholder. So one
member's responses serve every member, with that member's id put back. The
management, identity and log-archive accounts are recorded on their own.
Each ``AssumeRole`` response gets a made-up access key per role session, so
the proxy still knows which account signed a later request. When such a
request has to go to moto, the proxy assumes the role in moto's STS backend
and swaps in moto's key without signing again, because moto reads the key
but does not check signatures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import urllib.request
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
from aiohttp import web

from collectors.demo.wire import WireRequest, parse_request

log = logging.getLogger(__name__)

PLACEHOLDER = "{member-account}"
ACCOUNT_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")
CREDENTIAL_KEY = re.compile(r"Credential=([^/]+)/")
ACCESS_KEY_ELEMENT = re.compile(rb"<AccessKeyId>[^<]*</AccessKeyId>")
SYNTHETIC_PREFIX = "ASIARPLY"
COUNTS_PATH = "/_replay/counts"

# Headers that describe one connection or one body, never copied between them.
HOP_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "date",
        "host",
        "keep-alive",
        "server",
        "transfer-encoding",
        "accept-encoding",
        "content-encoding",
    }
)


@dataclass(frozen=True, slots=True)
class Recording:
    """One response from the demo world, with the member id replaced."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    templated: bool


@dataclass
class RoleIdentity:
    """A role session the proxy issued a made-up access key for."""

    account: str
    role_arn: str
    session_name: str
    moto_key: str = ""


@dataclass
class Shape:
    """The parsed request, its signer, its subject account and its recording key."""

    request: WireRequest
    name: str
    signer: str
    subject: str
    templated: bool
    key: tuple[str, ...]


class ReplayProxy:
    """Serves recorded demo-world answers with added latency on 127.0.0.1."""

    def __init__(
        self,
        upstream: str,
        accounts: set[str],
        members: set[str],
        *,
        latency: float = 0.05,
        known_keys: dict[str, str] | None = None,
    ) -> None:
        """Forward to ``upstream`` (the demo world) on a miss.

        ``members`` are the accounts whose responses are shared through the
        placeholder. ``known_keys`` maps access keys the proxy did not issue
        (the demo user's) to their account.
        """
        self.upstream = upstream
        self.accounts = frozenset(accounts)
        self.members = frozenset(members)
        self.latency = latency
        self.requests: Counter[str] = Counter()
        self.forwarded = 0
        self.replayed = 0
        self._key_accounts = dict(known_keys or {})
        self._roles: dict[str, RoleIdentity] = {}
        self._role_keys: dict[tuple[str, str], str] = {}
        self._recordings: dict[tuple[str, ...], asyncio.Future[Recording]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.endpoint = ""

    async def start(self) -> str:
        """Listen on 127.0.0.1 on a port the OS picks; return the endpoint."""
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=16), auto_decompress=False
        )
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get(COUNTS_PATH, self._counts)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        port = server.sockets[0].getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        return self.endpoint

    async def stop(self) -> None:
        """Stop listening and close the connections to the demo world."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def counts(self) -> dict[str, int]:
        """Return requests received so far by ``service.Operation``."""
        return dict(self.requests)

    async def _counts(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": self.counts(),
                "forwarded": self.forwarded,
                "replayed": self.replayed,
            }
        )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Count one AWS request, wait the added latency, then answer it."""
        body = await request.read()
        shape = await self._shape(request, body)
        self.requests[shape.name] += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        recording = await self._recording(shape)
        answer = recording.body
        if recording.templated:
            answer = answer.replace(PLACEHOLDER.encode(), shape.subject.encode())
        if shape.name == "sts.AssumeRole" and recording.status == 200:
            answer = self._issue_key(shape, answer)
        return web.Response(
            status=recording.status, headers=dict(recording.headers), body=answer
        )

    async def _shape(self, request: web.Request, body: bytes) -> Shape:
        wire = parse_request(_environ(request), body)
        name = f"{wire.service}.{wire.operation}"
        signer = await self._signer_account(wire.access_key)
        text = f"{wire.path}?{wire.query}\n{body.decode('latin-1')}"
        mentioned = {
            found for found in ACCOUNT_ID.findall(text) if found in self.accounts
        }
        subject = mentioned.pop() if len(mentioned) == 1 else ""
        if not subject and not mentioned:
            subject = signer
        templated = subject in self.members
        if templated:
            text = text.replace(subject, PLACEHOLDER)
        signed_by = "role" if wire.access_key in self._roles else wire.access_key
        key = (
            signed_by,
            PLACEHOLDER if templated else subject,
            name,
            wire.region,
            wire.method,
            text,
        )
        return Shape(wire, name, signer, subject, templated, key)

    async def _signer_account(self, access_key: str) -> str:
        role = self._roles.get(access_key)
        if role is not None:
            return role.account
        if not access_key:
            return ""
        if access_key not in self._key_accounts:
            from moto.iam.models import get_account_id_from

            account = await asyncio.to_thread(get_account_id_from, access_key)
            self._key_accounts[access_key] = account
        return self._key_accounts[access_key]

    async def _recording(self, shape: Shape) -> Recording:
        pending = self._recordings.get(shape.key)
        if pending is not None:
            self.replayed += 1
            return await asyncio.shield(pending)
        future: asyncio.Future[Recording] = asyncio.get_running_loop().create_future()
        self._recordings[shape.key] = future
        try:
            recording = await self._forward(shape)
        except Exception as error:
            del self._recordings[shape.key]
            future.set_exception(error)
            future.exception()  # marks it retrieved when nobody else waits
            raise
        if recording.status >= 500:
            # A failing moto answer is passed on once, never replayed.
            del self._recordings[shape.key]
        future.set_result(recording)
        return recording

    async def _forward(self, shape: Shape) -> Recording:
        self.forwarded += 1
        wire = shape.request
        headers = {
            name: value
            for name, value in wire.headers.items()
            if name not in HOP_HEADERS
        }
        role = self._roles.get(wire.access_key)
        if role is not None:
            moto_key = await self._moto_key(role)
            headers["authorization"] = headers["authorization"].replace(
                f"Credential={wire.access_key}/", f"Credential={moto_key}/"
            )
        url = f"{self.upstream}{wire.path}" + (f"?{wire.query}" if wire.query else "")
        assert self._session is not None
        async with self._session.request(
            wire.method, url, headers=headers, data=wire.body
        ) as response:
            body = await response.read()
            kept = tuple(
                (name, value)
                for name, value in response.headers.items()
                if name.lower() not in HOP_HEADERS
            )
        templated = shape.templated
        if templated:
            body = body.replace(shape.subject.encode(), PLACEHOLDER.encode())
        return Recording(response.status, kept, body, templated)

    async def _moto_key(self, role: RoleIdentity) -> str:
        if not role.moto_key:
            role.moto_key = await asyncio.to_thread(_assume_in_moto, role)
        return role.moto_key

    def _issue_key(self, shape: Shape, answer: bytes) -> bytes:
        form = shape.request.form()
        role_arn = form.get("RoleArn", "")
        session_name = form.get("RoleSessionName", "")
        made_up = self._role_keys.get((role_arn, session_name))
        if made_up is None:
            made_up = f"{SYNTHETIC_PREFIX}{len(self._role_keys):012d}"
            self._role_keys[(role_arn, session_name)] = made_up
            self._roles[made_up] = RoleIdentity(shape.subject, role_arn, session_name)
        element = f"<AccessKeyId>{made_up}</AccessKeyId>".encode()
        return ACCESS_KEY_ELEMENT.sub(element, answer, count=1)


def _environ(request: web.Request) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query_string,
    }
    for name, value in request.headers.items():
        if name.lower() == "content-type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _assume_in_moto(role: RoleIdentity) -> str:
    from moto.sts.models import sts_backends

    backend = sts_backends[role.account]["aws"]
    assumed = backend.assume_role(
        region_name="us-east-1",
        role_session_name=role.session_name,
        role_arn=role.role_arn,
        policy="",
        duration=3600,
        external_id="",
    )
    return str(assumed.access_key.access_key_id)


@dataclass
class ServedWorld:
    """Endpoint, keys and config of a replayed demo world in another process."""

    endpoint: str
    config: Any
    user_credentials: Any
    mfa_serial: str
    accounts: int
    regions: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        """Return the proxy's request counts by ``service.Operation``."""
        # No proxy from the environment: the replay server is on this machine.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(self.endpoint + COUNTS_PATH, timeout=10) as answer:
            return dict(json.load(answer)["requests"])

    def stop(self) -> None:
        """Leave the server running: the process that started it stops it."""


def bench_scenario(accounts: int) -> Any:
    """Generate a scenario of about ``accounts`` accounts with nothing failing.

    Faults and disabled regions are dropped: replayed answers are shared by
    every member, so one member's failure would become every member's.
    """
    from collectors.demo.scenario import generated_scenario

    scenario = generated_scenario(accounts)
    scenario.faults = []
    for account in scenario.accounts:
        account.disabled_regions = []
    return scenario


def serve(accounts: int, latency: float, connection: Connection) -> None:
    """Run a demo world and its replay proxy until ``connection`` sends stop.

    This is the entry point of the server process: it sends one
    :class:`ServedWorld` through ``connection``, then waits for any message
    (or the other end closing) and stops everything it started.
    """
    from collectors.config import parse_config
    from collectors.demo.server import DemoWorld
    from collectors.tomlcheck import Table

    scenario = bench_scenario(accounts)
    world = DemoWorld(scenario).start()
    try:
        config = parse_config(Table({}, "<benchmark defaults>", ""), None)
        world.configure(config)
        asyncio.run(_serve(world, config, latency, connection))
    finally:
        world.stop()


async def _serve(
    world: Any, config: Any, latency: float, connection: Connection
) -> None:
    scenario = world.scenario
    core = {scenario.management.id, scenario.identity.id, scenario.log_archive.id}
    every = {account.id for account in scenario.accounts}
    user_key = world.user_credentials.access_key_id
    proxy = ReplayProxy(
        world.endpoint,
        every,
        every - core,
        latency=latency,
        known_keys={user_key: scenario.identity.id},
    )
    endpoint = await proxy.start()
    try:
        served = ServedWorld(
            endpoint,
            config,
            world.user_credentials,
            world.mfa_serial,
            len(scenario.accounts),
            tuple(scenario.regions),
        )
        connection.send(served)
        await asyncio.to_thread(_wait_for_stop, connection)
    finally:
        await proxy.stop()


def _wait_for_stop(connection: Connection) -> None:
    try:
        connection.recv()
    except EOFError:
        log.info("the benchmark went away; stopping the replay server")
