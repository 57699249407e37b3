"""A local stand-in for the AWS federation endpoint, and the demo's switch settings.

The console sign-in flow goes to ``signin.aws.amazon.com/federation``, which
is no AWS API and which moto does not serve. This plugin serves the two
actions orgtop uses on its own 127.0.0.1 port, beside moto:

- ``getSigninToken`` accepts a role session only if moto issued it (same
  access key, secret and session token, not expired) and a
  ``SessionDuration`` between 900 and 43200 seconds, and returns
  ``{"SigninToken": ...}``;
- ``login`` accepts a token younger than 15 minutes and a console
  ``Destination``, and returns a page naming the role where AWS would
  redirect to the console.

It also points the ``[switch]`` settings at the demo: the stand-in's URL,
the demo endpoint for shells and commands, the demo user's MFA device, and
the scenario's roles when the config names none.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from moto.iam.models import get_account_id_from
from moto.sts.models import sts_backends
from werkzeug.serving import WSGIRequestHandler, make_server

from collectors.demo.plugins import demo_config, seeder, stopper
from collectors.switch.settings import RoleSetting

if TYPE_CHECKING:
    from collectors.config import Config
    from collectors.demo.server import DemoWorld

TOKEN_SECONDS = 900
"""A sign-in token (and the login URL carrying it) is valid for 15 minutes."""

POLICY_LEVELS = {
    "AdministratorAccess": "admin",
    "PowerUserAccess": "power-user",
    "ReadOnlyAccess": "read-only",
    "ViewOnlyAccess": "read-only",
}


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A sign-in token the stand-in handed out."""

    role_arn: str
    account_id: str
    console_seconds: int
    issued_at: float


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Keep request lines (which carry sessions and tokens) off every output."""


class FederationStandIn:
    """The federation endpoint's ``getSigninToken`` and ``login`` on 127.0.0.1."""

    def __init__(self, clock: Any = time.time) -> None:
        """Prepare the server; :meth:`start` binds the port."""
        self.clock = clock
        self.tokens: dict[str, IssuedToken] = {}
        self.logins: list[IssuedToken] = []
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """Return the URL orgtop sends both actions to."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/federation"

    def start(self) -> FederationStandIn:
        """Serve on a port the OS picks, in a daemon thread."""
        self._server = make_server(
            "127.0.0.1", 0, self, threaded=True, request_handler=_QuietHandler
        )
        # A short poll interval lets stop() return at once instead of in 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="demo-federation",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """Serve one request to the federation path."""
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        action = query.get("Action", "")
        with self._lock:
            self.requests[action or "-"] += 1
        if environ.get("PATH_INFO") != "/federation":
            return _answer(start_response, 404, "text/plain", "Not Found")
        if action == "getSigninToken":
            return self._signin_token(query, start_response)
        if action == "login":
            return self._login(query, start_response)
        return _answer(start_response, 400, "text/plain", "Unsupported Action")

    def _signin_token(self, query: dict[str, str], start_response: Any) -> list[bytes]:
        duration = query.get("SessionDuration", "")
        if duration and not (duration.isdigit() and 900 <= int(duration) <= 43200):
            return _answer(start_response, 400, "text/plain", "Invalid SessionDuration")
        role = _assumed_role(query.get("Session", ""))
        if role is None:
            return _answer(
                start_response, 400, "text/plain", "Invalid credentials parameter"
            )
        token = secrets.token_urlsafe(48)
        issued = IssuedToken(
            role.role_arn, role.account_id, int(duration or 3600), self.clock()
        )
        with self._lock:
            self.tokens[token] = issued
        body = json.dumps({"SigninToken": token})
        return _answer(start_response, 200, "application/json", body)

    def _login(self, query: dict[str, str], start_response: Any) -> list[bytes]:
        with self._lock:
            issued = self.tokens.get(query.get("SigninToken", ""))
        if issued is None or self.clock() - issued.issued_at > TOKEN_SECONDS:
            return _answer(
                start_response, 400, "text/plain", "Invalid or expired SigninToken"
            )
        destination = urlparse(query.get("Destination", ""))
        host = destination.hostname or ""
        if destination.scheme != "https" or not host.endswith("console.aws.amazon.com"):
            return _answer(start_response, 400, "text/plain", "Invalid Destination")
        with self._lock:
            self.logins.append(issued)
        page = (
            "<!doctype html><title>orgtop demo console</title>"
            f"<h1>Signed in as {html.escape(issued.role_arn)}</h1>"
            f"<p>Account {html.escape(issued.account_id)}. The real federation "
            f"endpoint would now open {html.escape(destination.geturl())}.</p>"
        )
        return _answer(start_response, 200, "text/html; charset=utf-8", page)


def _assumed_role(session: str) -> Any:
    """Return moto's assumed role behind a session document, if it is valid."""
    try:
        document = json.loads(session)
        key_id = document["sessionId"]
        secret = document["sessionKey"]
        token = document["sessionToken"]
    except (ValueError, KeyError, TypeError):
        return None
    account = get_account_id_from(key_id)
    backend = sts_backends[account]["aws"]
    role = backend.get_assumed_role_from_access_key(key_id)
    if role is None or role.secret_access_key != secret or role.session_token != token:
        return None
    if role.expiration.timestamp() <= time.time():
        return None
    return role


def _answer(start_response: Any, status: int, kind: str, body: str) -> list[bytes]:
    data = body.encode()
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found"}
    start_response(
        f"{status} {reasons[status]}",
        [("Content-Type", kind), ("Content-Length", str(len(data)))],
    )
    return [data]


@seeder(order=90)
def start_federation(world: DemoWorld) -> None:
    """Start the federation stand-in beside moto."""
    world.extra["federation"] = FederationStandIn().start()


@stopper
def stop_federation(world: DemoWorld) -> None:
    """Stop the federation stand-in."""
    stand_in = world.extra.pop("federation", None)
    if stand_in is not None:
        stand_in.stop()


@demo_config
def configure_switching(world: DemoWorld, config: Config) -> None:
    """Point the ``[switch]`` settings at the demo world."""
    settings = config.switch
    stand_in = world.extra.get("federation")
    if stand_in is not None:
        settings.federation_endpoint = stand_in.endpoint
    settings.endpoint_url = world.endpoint
    settings.mfa_serial = settings.mfa_serial or world.mfa_serial
    if settings.roles:
        return
    # The seeder creates the scenario's roles in every member account but
    # not in the management account, so an empty list means the members.
    members = tuple(account.id for account in world.scenario.members)
    for role in world.scenario.roles:
        levels = {
            POLICY_LEVELS.get(arn.rsplit("/", 1)[-1], "custom")
            for arn in role.managed_policies
        }
        level = levels.pop() if len(levels) == 1 else "custom"
        accounts = tuple(role.accounts) or members
        settings.roles.append(
            RoleSetting(role.name, level, role.max_session_seconds, accounts)
        )
