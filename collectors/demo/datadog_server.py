"""A local HTTP server that speaks the parts of Datadog's API orgtop uses.

It serves ``GET /api/v1/validate``, ``GET /api/v1/query`` and
``GET /api/v1/monitor`` on 127.0.0.1 with Datadog's request checks: a
missing or wrong ``DD-API-KEY`` or ``DD-APPLICATION-KEY`` gets 403 and
``{"errors": ["Forbidden"]}``, a missing parameter or a query it cannot parse
gets 400 with the reason in ``errors``. Responses have the documented shapes
and ``X-RateLimit-Limit``, ``-Period``, ``-Remaining``, ``-Reset`` and
``-Name`` headers; limits count requests in calendar-aligned periods, as
Datadog's rate-limit page describes them. The scenario's
``[[datadog.fault]]`` rules add 429 (the limit then stays closed for
``reset_seconds`` by the server's clock), 401, 403, 5xx, HTML bodies and
latency.
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from collectors.demo.datadog_data import DatadogData, QueryError, parse_query

if TYPE_CHECKING:
    from email.message import Message

    from collectors.demo.plugins.datadog import DatadogFault

log = logging.getLogger(__name__)

ROUTES = {
    "/api/v1/validate": "Validate",
    "/api/v1/query": "QueryMetrics",
    "/api/v1/monitor": "ListMonitors",
}
LIMIT_NAMES = {
    "Validate": "validate",
    "QueryMetrics": "query",
    "ListMonitors": "monitor",
}
DEFAULT_LIMITS = {
    "validate": (1000, 3600),
    "query": (1600, 3600),
    "monitor": (1000, 60),
}
"""Requests per period in seconds. The figures are the demo's own choice:
Datadog publishes its limits only through the headers."""
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
ERROR_TEXT = {404: "Not found", 429: "Rate limit exceeded"}
GROUP_STATES = ("all", "alert", "warn", "no data")
MAX_PAGE_SIZE = 1000

Response = tuple[int, dict[str, str], bytes]


@dataclass
class Window:
    """One named rate limit: requests counted per calendar-aligned period."""

    name: str
    limit: int
    period: int
    start: float = -1.0
    used: int = 0
    closed_until: float = 0.0

    def admit(self, now: float) -> tuple[bool, dict[str, str]]:
        """Count a request; return whether it may pass and the headers to send."""
        start = now - (now % self.period)
        if start != self.start:
            self.start, self.used = start, 0
        if now < self.closed_until:
            return False, self.headers(0, math.ceil(self.closed_until - now))
        reset = math.ceil(start + self.period - now)
        if self.used >= self.limit:
            return False, self.headers(0, reset)
        self.used += 1
        return True, self.headers(self.limit - self.used, reset)

    def close(self, now: float, seconds: int) -> None:
        """Reject every request for ``seconds``, as after a burst."""
        self.closed_until = max(self.closed_until, now + seconds)

    def headers(self, remaining: int, reset: int) -> dict[str, str]:
        """Return the ``X-RateLimit-*`` headers."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Period": str(self.period),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Name": self.name,
        }


@dataclass(frozen=True, slots=True)
class Served:
    """One request with its response status, timed with the server's clock."""

    at: float
    operation: str
    status: int
    reset: int | None = None
    query: str = ""


@dataclass
class DatadogServer:
    """The local Datadog API, started and stopped with the demo world."""

    data: DatadogData
    clock: Callable[[], float] = time.time
    """Clock of the rate-limit windows; tests share a fake one with the client."""
    requests: Counter[str] = field(default_factory=Counter, repr=False)
    served: list[Served] = field(default_factory=list, repr=False)
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    def __post_init__(self) -> None:
        """Set up keys, limits and the listening socket on a port the OS picks."""
        section = self.data.section
        # Shaped like Datadog's keys: 32 and 40 hexadecimal digits.
        self.api_key = section.api_key or secrets.token_hex(16)
        self.app_key = section.app_key or secrets.token_hex(20)
        limits = {**DEFAULT_LIMITS, **section.rate_limits}
        self.windows = {name: Window(name, *limit) for name, limit in limits.items()}
        self._lock = threading.Lock()
        self._http = _HttpServer(("127.0.0.1", 0), _Handler)
        self._http.owner = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Return the base URL, ``http://127.0.0.1:PORT``."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DatadogServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="demo-datadog",
            daemon=True,
        )
        self._thread.start()
        log.info("demo Datadog API serving on %s", self.url)
        return self

    def stop(self) -> None:
        """Release slow requests, stop serving and close the socket."""
        self.stopping.set()
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join(timeout=5)
        self._http.server_close()

    def handle(self, method: str, target: str, headers: Message) -> Response:
        """Respond to one request: faults, keys, rate limit, parameters, data."""
        parts = urlsplit(target)
        operation = ROUTES.get(parts.path.rstrip("/"))
        if operation is None:
            return self._finish("Unknown", _error(404))
        with self._lock:
            self.requests[operation] += 1
        if method != "GET":
            return self._finish(operation, _error(405))
        params = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        fault = self._fault(operation)
        if fault is not None and fault.latency_ms:
            self.stopping.wait(fault.latency_ms / 1000)
        if fault is not None and fault.status:
            return self._finish(
                operation, self._fault_response(operation, fault), params
            )
        if not self._keys_valid(operation, headers):
            return self._finish(operation, _error(403))
        window = self.windows[LIMIT_NAMES[operation]]
        with self._lock:
            admitted, limits = window.admit(self.clock())
        if not admitted:
            return self._finish(operation, _error(429, extra=limits), params)
        try:
            body = self._body(operation, params)
        except QueryError as error:
            return self._finish(operation, _error(400, str(error), limits), params)
        response = (200, {"Content-Type": "application/json", **limits}, body)
        return self._finish(operation, response, params)

    def _keys_valid(self, operation: str, headers: Message) -> bool:
        if headers.get("DD-API-KEY") != self.api_key:
            return False
        # Validating the API key is the one call that needs no application key.
        return (
            operation == "Validate" or headers.get("DD-APPLICATION-KEY") == self.app_key
        )

    def _finish(
        self, operation: str, response: Response, params: dict[str, str] | None = None
    ) -> Response:
        reset = response[1].get("X-RateLimit-Reset")
        query = (params or {}).get("query", "")
        record = Served(
            self.clock(), operation, response[0], int(reset) if reset else None, query
        )
        with self._lock:
            self.served.append(record)
        return response

    def _fault(self, operation: str) -> DatadogFault | None:
        endpoint = LIMIT_NAMES[operation]
        with self._lock:
            for fault in self.data.section.faults:
                if fault.endpoint not in ("*", endpoint):
                    continue
                if fault.times and fault.fired >= fault.times:
                    continue
                fault.fired += 1
                return fault
        return None

    def _fault_response(self, operation: str, fault: DatadogFault) -> Response:
        if fault.status == 429:
            window = self.windows[LIMIT_NAMES[operation]]
            with self._lock:
                window.close(self.clock(), fault.reset_seconds)
                _, limits = window.admit(self.clock())
            if fault.body == "html":
                return _html(429, limits)
            return _error(429, extra=limits)
        if fault.body == "html":
            return _html(fault.status)
        return _error(fault.status)

    def _body(self, operation: str, params: dict[str, str]) -> bytes:
        if operation == "Validate":
            return json.dumps({"valid": True}).encode()
        if operation == "QueryMetrics":
            return json.dumps(self._query(params)).encode()
        return json.dumps(self._monitors(params)).encode()

    def _query(self, params: dict[str, str]) -> dict[str, Any]:
        for name in ("from", "to", "query"):
            if not params.get(name):
                raise QueryError(f"Missing required parameter '{name}'")
        start, end = _epoch(params, "from"), _epoch(params, "to")
        if start >= end:
            raise QueryError("The 'from' parameter must be earlier than 'to'")
        query = parse_query(params["query"])
        interval = self.data.section.interval_seconds
        return {
            "status": "ok",
            "res_type": "time_series",
            "from_date": start * 1000,
            "to_date": end * 1000,
            "query": query.text,
            "group_by": list(query.group_by),
            "message": "",
            "series": self.data.series(query, start, end, interval),
        }

    def _monitors(self, params: dict[str, str]) -> list[dict[str, Any]]:
        states = _list(params, "group_states")
        for state in states:
            if state not in GROUP_STATES:
                choices = ", ".join(GROUP_STATES)
                raise QueryError(f"Invalid group_states value {state!r}; use {choices}")
        required_tags = _list(params, "monitor_tags")
        name = params.get("name", "").lower()
        offset = _integer(params, "id_offset", 0)
        monitors = []
        for document in self.data.monitors():
            groups = document.pop("groups")
            if name not in document["name"].lower() or document["id"] <= offset:
                continue
            if any(tag not in document["tags"] for tag in required_tags):
                continue
            document["state"] = {"groups": self._groups(groups, states)}
            monitors.append(document)
        if "page" not in params:
            return monitors
        page = _integer(params, "page", 0)
        size = _integer(params, "page_size", 100)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise QueryError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        return monitors[page * size : (page + 1) * size]

    def _groups(self, groups: dict[str, str], states: list[str]) -> dict[str, Any]:
        """Render the groups whose status the request's ``group_states`` names."""
        now = int(self.clock())
        chosen = {}
        for name, status in groups.items():
            if "all" not in states and status.lower() not in states:
                continue
            minutes_ago = 1 + zlib.crc32(name.encode()) % 240
            triggered = now - 60 * minutes_ago if status != "OK" else 0
            chosen[name] = {
                "name": name,
                "status": status,
                "last_triggered_ts": triggered,
                "last_notified_ts": triggered,
                "last_resolved_ts": 0,
                "last_nodata_ts": 0,
            }
        return chosen


def _list(params: dict[str, str], name: str) -> list[str]:
    return [item.strip() for item in params.get(name, "").split(",") if item.strip()]


def _epoch(params: dict[str, str], name: str) -> int:
    value = params[name]
    if not re.fullmatch(r"\d{1,12}", value):
        raise QueryError(
            f"Invalid value for '{name}': {value!r} is not seconds since the Unix epoch"
        )
    return int(value)


def _integer(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit():
        raise QueryError(f"Invalid value for '{name}': {value!r} is not a whole number")
    return int(value)


def _error(
    status: int, message: str = "", extra: dict[str, str] | None = None
) -> Response:
    """Render Datadog's error body, ``{"errors": [...]}``."""
    text = message or ERROR_TEXT.get(status, REASONS[status])
    body = json.dumps({"errors": [text]}).encode()
    return status, {"Content-Type": "application/json", **(extra or {})}, body


def _html(status: int, extra: dict[str, str] | None = None) -> Response:
    """Render the HTML page a proxy or captive portal sends instead of Datadog."""
    title = "Sign in to continue" if status == 200 else f"{status} {REASONS[status]}"
    body = (
        f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1>"
        "</center><hr><center>nginx</center></body></html>\n"
    )
    return status, {"Content-Type": "text/html", **(extra or {})}, body.encode()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: DatadogServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _HttpServer

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        """Respond to a GET request."""
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        """Respond to a POST request (every endpoint served here rejects it)."""
        self._serve("POST")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        status, headers, body = self.server.owner.handle(
            method, self.path, self.headers
        )
        self.send_response(status, REASONS.get(status))
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep per-request lines off the user's terminal."""
