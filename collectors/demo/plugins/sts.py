"""STS additions: ``GetSessionToken`` with MFA, as the demo identity uses it.

moto's ``GetSessionToken`` ignores the MFA device and returns keys that map
to no account. Here the serial must be the user's device and the code six
digits (any six digits pass), and the session's keys belong to the identity
account, as they do on AWS.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from moto.iam import iam_backends

from collectors.demo.plugins import Response, handler
from collectors.demo.wire import error_response

if TYPE_CHECKING:
    from collectors.demo.server import DemoWorld
    from collectors.demo.wire import WireRequest


def missing_role(world: DemoWorld, request: WireRequest) -> Response | None:
    """Reject AssumeRole on a role that does not exist, as AWS does.

    moto issues credentials for any role ARN. AWS answers AccessDenied (not
    NoSuchEntity) so that callers cannot probe which roles exist.
    """
    role_arn = request.form().get("RoleArn", "")
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return None
    account, role_name = parts[4], parts[5].rsplit("/", 1)[-1]
    if world.scenario.account(account) is None:
        return None
    roles = iam_backends[account]["aws"].roles.values()
    if any(role.name == role_name for role in roles):
        return None
    return error_response(
        request,
        "AccessDenied",
        f"User: {request.access_key} is not authorized to perform: sts:AssumeRole "
        f"on resource: {role_arn}",
    )


@handler("sts", "GetSessionToken")
def get_session_token(world: DemoWorld, request: WireRequest) -> Response:
    """Issue an MFA session for the identity account's user."""
    form = request.form()
    serial = form.get("SerialNumber", "")
    code = form.get("TokenCode", "")
    if serial and not (len(code) == 6 and code.isdigit()):
        return error_response(
            request,
            "AccessDenied",
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
        )
    if serial and serial != world.mfa_serial:
        return error_response(
            request,
            "AccessDenied",
            "MultiFactorAuthentication failed, unable to validate MFA code.",
        )
    duration = int(form.get("DurationSeconds", "43200"))
    iam = iam_backends[world.scenario.identity.id]["aws"]
    key = iam.create_temp_access_key()
    # Owned by the user, so GetCallerIdentity names the user as AWS does.
    iam.get_user(world.scenario.demo_user).access_keys.append(key)
    expiration = datetime.now(UTC) + timedelta(seconds=duration)
    session_token = secrets.token_urlsafe(48)
    world.remember_secret(key.secret_access_key, session_token)
    world.extra.setdefault("sessions_issued", 0)
    world.extra["sessions_issued"] += 1
    body = (
        '<GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<GetSessionTokenResult><Credentials>"
        f"<SessionToken>{session_token}</SessionToken>"
        f"<SecretAccessKey>{key.secret_access_key}</SecretAccessKey>"
        f"<Expiration>{expiration.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>"
        f"<AccessKeyId>{key.access_key_id}</AccessKeyId>"
        "</Credentials></GetSessionTokenResult>"
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId>"
        "</ResponseMetadata></GetSessionTokenResponse>"
    )
    return 200, {"Content-Type": "text/xml"}, body.encode()
