"""The demo world: moto's threaded server plus orgtop's middleware.

:class:`DemoWorld` seeds moto's in-process backends from a scenario (much
faster than seeding over HTTP), then serves moto on 127.0.0.1 on a port the
OS picks, behind a WSGI middleware that counts every request, applies the
scenario's fault rules and answers the operations moto lacks. The client
side stays real: botocore signs, sends and parses real HTTP.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections import Counter
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from collectors.clients import Credentials
from collectors.demo import plugins
from collectors.demo.faults import FaultRule, judge
from collectors.demo.scenario import Scenario
from collectors.demo.wire import WireRequest, error_response, parse_request

log = logging.getLogger(__name__)

GLOBAL_SERVICES = frozenset({"sts", "iam", "organizations", "account", "ce", "sso"})
HANG_SECONDS = 600.0


class DemoMotoServer(ThreadedMotoServer):
    """moto's ``ThreadedMotoServer`` with a middleware wrapped around its app."""

    def __init__(self, middleware: Any) -> None:
        """Serve on 127.0.0.1 on a port the OS picks."""
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.middleware = middleware

    def _server_entry(self) -> None:
        app = DomainDispatcherApplication(create_backend_app)
        self.middleware.app = app
        self._server = make_server(
            self._ip_address,
            self._port,
            self.middleware,
            True,
            request_handler=_QuietHandler,
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class _QuietHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Keep werkzeug's per-request lines off the user's terminal."""

    def make_environ(self) -> dict[str, Any]:
        """Keep the SSO bearer header, which werkzeug drops for its underscore."""
        environ = super().make_environ()
        token = self.headers.get("x-amz-sso_bearer_token")
        if token is not None:
            environ["HTTP_X_AMZ_SSO_BEARER_TOKEN"] = token
        return environ


class DemoWorld:
    """A running demo organization; use as a context manager or start/stop."""

    def __init__(self, scenario: Scenario) -> None:
        """Prepare the world; nothing runs until :meth:`start`."""
        self.scenario = scenario
        self.requests: Counter[str] = Counter()
        self.by_account: Counter[tuple[str, str]] = Counter()
        self.faults_served: Counter[str] = Counter()
        self.stopping = threading.Event()
        self.extra: dict[str, Any] = {}
        self.app: Any = None
        self._lock = threading.Lock()
        self._server = DemoMotoServer(self)
        self.user_credentials: Credentials | None = None
        self.mfa_serial = ""
        self.endpoint = ""
        self.region_rules = _region_rules(scenario)

    def start(self) -> DemoWorld:
        """Seed the backends and start serving."""
        from moto.moto_api import _internal

        _internal.models.moto_api_backend.reset()
        started = time.perf_counter()
        for seed in plugins.seeders():
            seed(self)
        log.info(
            "demo world seeded: %d accounts in %.2f s",
            len(self.scenario.accounts),
            time.perf_counter() - started,
        )
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop serving; hanging requests are released."""
        self.stopping.set()
        for stop in plugins.STOPPERS:
            stop(self)
        self._server.stop()

    def __enter__(self) -> DemoWorld:
        """Start the world."""
        return self.start()

    def __exit__(self, *_: object) -> None:
        """Stop the world."""
        self.stop()

    def configure(self, config: Any) -> None:
        """Point a :class:`~collectors.config.Config` at this world."""
        scenario = self.scenario
        config.management_account = scenario.management.id
        config.identity_account = scenario.identity.id
        config.collector_role = scenario.collector_role
        config.home_region = scenario.home_region
        config.regions = list(scenario.regions)
        config.mapping.explicit.setdefault(
            scenario.log_archive.id, ("org", "log-archive")
        )
        for configure in plugins.CONFIGURERS:
            configure(self, config)

    def issued_secrets(self) -> list[str]:
        """Return every secret the demo handed out, for tests that scan for leaks.

        The user's secret key, role sessions' secret keys and session tokens
        (moto's STS backends) and the MFA and SSO sessions the plugins issued.
        """
        from moto.sts.models import sts_backends

        secrets = list(self.extra.get("issued_secrets", []))
        if self.user_credentials is not None:
            secrets.append(self.user_credentials.secret_access_key)
        for account_backends in list(sts_backends.values()):
            for backend in list(account_backends.values()):
                for role in list(backend.assumed_roles):
                    secrets.extend([role.secret_access_key, role.session_token])
        return secrets

    def remember_secret(self, *values: str) -> None:
        """Record secrets a plugin issued (see :meth:`issued_secrets`)."""
        with self._lock:
            self.extra.setdefault("issued_secrets", []).extend(values)

    def counts(self) -> dict[str, int]:
        """Return requests served so far by ``service.Operation``."""
        with self._lock:
            return dict(self.requests)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        """Serve one WSGI request: count, apply faults, answer or pass to moto."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        request = parse_request(environ, body)
        if not request.service:
            return self.app(environ, start_response)
        request.account = self._account_of(request)
        name = f"{request.service}.{request.operation}"
        with self._lock:
            self.requests[name] += 1
            self.by_account[(request.account, name)] += 1
        rules = self.region_rules + self.scenario.faults
        region = "" if request.service in GLOBAL_SERVICES else request.region
        verdict = judge(
            rules,
            {
                "service": request.service,
                "operation": request.operation,
                "account": request.account,
                "region": region,
                "key": request.key,
            },
        )
        if verdict.latency_ms:
            self.stopping.wait(verdict.latency_ms / 1000)
        if verdict.hang:
            self.stopping.wait(HANG_SECONDS)
            return _respond(
                start_response, *error_response(request, "ServiceUnavailable")
            )
        if verdict.error:
            with self._lock:
                self.faults_served[verdict.error] += 1
            return _respond(start_response, *error_response(request, verdict.error))
        if request.service == "sts" and request.operation == "AssumeRole":
            from collectors.demo.plugins.sts import missing_role

            denied = missing_role(self, request)
            if denied is not None:
                return _respond(start_response, *denied)
        custom = plugins.HANDLERS.get((request.service, request.operation))
        if custom is not None:
            try:
                return _respond(start_response, *custom(self, request))
            except plugins.ValidationError as error:
                answer = error_response(request, "ValidationException", str(error))
                return _respond(start_response, *answer)
        return self.app(environ, start_response)

    def _account_of(self, request: WireRequest) -> str:
        from moto.iam.models import get_account_id_from

        if request.service == "sts" and request.operation == "AssumeRole":
            role_arn = request.form().get("RoleArn", "")
            parts = role_arn.split(":")
            if len(parts) > 4 and parts[4]:
                return parts[4]
        if request.service == "account" and request.operation == "ListRegions":
            target = request.json().get("AccountId")
            if target:
                return str(target)
        return get_account_id_from(request.access_key) if request.access_key else ""


def _region_rules(scenario: Scenario) -> list[FaultRule]:
    rules = []
    for account in scenario.accounts:
        for region in account.disabled_regions:
            rules.append(
                FaultRule(
                    index=-1, account=account.id, region=region, error="OptInRequired"
                )
            )
    return rules


def _respond(
    start_response: Any, status: int, headers: dict[str, str], body: bytes
) -> list[bytes]:
    reason = {
        200: "OK",
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }.get(status, "Error")
    header_list = [*headers.items(), ("Content-Length", str(len(body)))]
    start_response(f"{status} {reason}", header_list)
    return [body]
