"""A local stand-in for the IAM Identity Center portal's ``GetRoleCredentials``.

moto has ``sso-admin`` but not the portal API that botocore's SSO credential
provider calls. The portal request is unsigned (it carries the SSO access
token in ``x-amz-sso_bearer_token``), so the middleware routes it by path.
Any non-empty token is accepted; the issued keys belong to the requested
account, as they do on AWS. Point botocore at the demo with
``AWS_ENDPOINT_URL_SSO``.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from moto.iam import iam_backends

from collectors.demo.plugins import Response, handler
from collectors.demo.wire import error_response, json_response

if TYPE_CHECKING:
    from collectors.demo.server import DemoWorld
    from collectors.demo.wire import WireRequest

PORTAL_PATH = "/federation/credentials"


@handler("sso", "GetRoleCredentials")
def get_role_credentials(world: DemoWorld, request: WireRequest) -> Response:
    """Issue role credentials for an SSO access token."""
    token = request.headers.get("x-amz-sso-bearer-token", "")
    query = {k: v[0] for k, v in parse_qs(request.query).items()}
    if not token:
        return error_response(
            request, "UnauthorizedException", "Session token not found or invalid"
        )
    account = world.scenario.account(query.get("account_id", ""))
    if account is None:
        return error_response(request, "ForbiddenException", "No access")
    key = iam_backends[account.id]["aws"].create_temp_access_key()
    session_token = secrets.token_urlsafe(32)
    world.remember_secret(key.secret_access_key, session_token)
    return json_response(
        {
            "roleCredentials": {
                "accessKeyId": key.access_key_id,
                "secretAccessKey": key.secret_access_key,
                "sessionToken": session_token,
                "expiration": int((time.time() + 3600) * 1000),
            }
        },
        "rest-json",
    )
