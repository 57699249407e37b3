"""Read the AWS wire protocol on the demo server's side.

The middleware in front of moto needs, for every request, the service, the
operation, the calling account and the region, and it must answer errors in
the shape each protocol uses (query XML, EC2 XML, JSON, REST-JSON) so that
botocore parses them exactly as it parses AWS's own.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import botocore.session

from collectors.demo.faults import ERRORS

_CREDENTIAL = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

# Signing names differ from botocore's service names for a few services.
SIGNING_TO_SERVICE = {
    "monitoring": "cloudwatch",
    "servicequotas": "service-quotas",
    "awsssoportal": "sso",
}


@cache
def _loader() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(service: str) -> Any:
    """Return botocore's model of a service (by botocore name)."""
    return _loader().get_service_model(service)


@cache
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], str]]:
    model = service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http["requestUri"].split("?")[0]
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))
        routes.append((http["method"], re.compile(f"^{pattern}$"), name))
    return routes


@dataclass
class WireRequest:
    """What the middleware knows about one incoming request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    access_key: str = ""
    region: str = ""
    signing_name: str = ""
    service: str = ""
    operation: str = ""
    protocol: str = ""
    account: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identify the request across retries (same operation, target and body)."""
        digest = hashlib.sha1(self.body).hexdigest()[:12]
        parts = (self.service, self.operation, self.account, self.region, self.path)
        return "/".join([*parts, digest])

    def json(self) -> dict[str, Any]:
        """Parse a JSON body (empty dict for none)."""
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        """Parse a query-protocol body."""
        parsed = parse_qs(self.body.decode(), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}


def parse_request(environ: dict[str, Any], body: bytes) -> WireRequest:
    """Identify service, operation, region and access key of a WSGI request."""
    headers = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if "CONTENT_TYPE" in environ:
        headers["content-type"] = environ["CONTENT_TYPE"]
    request = WireRequest(
        environ.get("REQUEST_METHOD", "GET"),
        environ.get("PATH_INFO", "/"),
        environ.get("QUERY_STRING", ""),
        headers,
        body,
    )
    match = _CREDENTIAL.search(headers.get("authorization", ""))
    if match:
        request.access_key, request.region, request.signing_name = match.groups()
    elif (
        request.path == "/federation/credentials"
        and "x-amz-sso-bearer-token" in headers
    ):
        # The IAM Identity Center portal API is unsigned: it carries a bearer token.
        request.signing_name = "awsssoportal"
    if not request.signing_name:
        return request
    service = SIGNING_TO_SERVICE.get(request.signing_name, request.signing_name)
    try:
        model = service_model(service)
    except Exception:  # noqa: BLE001 - an unknown service is left to moto
        return request
    request.service = service
    request.protocol = model.protocol
    request.operation = _operation(request, model)
    return request


def _operation(request: WireRequest, model: Any) -> str:
    if request.protocol == "json":
        target = request.headers.get("x-amz-target", "")
        return target.rsplit(".", 1)[-1]
    if request.protocol in ("query", "ec2"):
        return (
            request.form().get("Action", "")
            or parse_qs(request.query).get("Action", [""])[0]
        )
    for method, pattern, name in _rest_routes(model.service_name):
        if method == request.method and pattern.match(request.path):
            return str(name)
    return ""


def error_response(
    request: WireRequest, code: str, message: str = ""
) -> tuple[int, dict[str, str], bytes]:
    """Render an AWS error in the request's protocol: status, headers, body."""
    spec = ERRORS.get(code)
    status = spec.status if spec else 400
    message = message or (spec.message if spec else code)
    request_id = str(uuid.uuid4())
    headers = {"x-amzn-RequestId": request_id}
    if request.protocol == "ec2":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
            f"<Code>{code}</Code><Message>{_xml(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        )
        headers["Content-Type"] = "text/xml"
        return status, headers, body.encode()
    if request.protocol == "query" or not request.protocol:
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<Error><Type>{kind}</Type><Code>{code}</Code>"
            f"<Message>{_xml(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers["Content-Type"] = "text/xml"
        return status, headers, body.encode()
    headers["x-amzn-ErrorType"] = code
    if request.protocol == "json":
        headers["Content-Type"] = "application/x-amz-json-1.1"
        payload = {"__type": code, "message": message}
    else:
        headers["Content-Type"] = "application/json"
        payload = {"message": message}
    return status, headers, json.dumps(payload).encode()


def json_response(
    data: dict[str, Any], protocol: str = "json"
) -> tuple[int, dict[str, str], bytes]:
    """Render a successful JSON or REST-JSON answer."""
    content_type = (
        "application/x-amz-json-1.1" if protocol == "json" else "application/json"
    )
    headers = {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}
    return 200, headers, json.dumps(data, default=str).encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
