"""Console sign-in URLs through the AWS federation endpoint.

Two steps, as AWS documents for a custom identity broker: send the role
session to the endpoint's ``getSigninToken`` action, then build a ``login``
URL carrying the returned token. The URL is valid for 15 minutes and opens
a console session as the role, so it is a secret: it is returned to the
caller and never logged, and errors never quote it.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

from collectors.clients import shared_ssl_context
from collectors.switch.roles import SwitchError
from collectors.switch.session import RoleSwitch
from collectors.switch.settings import CONSOLE_URL, MAX_SESSION_SECONDS, SwitchSettings

TIMEOUT_SECONDS = 15.0


def console_destination(settings: SwitchSettings, region: str) -> str:
    """Return the console page to land on: the home page of ``region`` by default."""
    if settings.console_url != CONSOLE_URL:
        return settings.console_url
    return f"{CONSOLE_URL}console/home?region={region}"


def token_request_url(switch: RoleSwitch, endpoint: str) -> str:
    """Return the ``getSigninToken`` URL for a role session (contains the secret).

    ``SessionDuration`` sets the console session's length (at most 12 hours).
    It is left out for a chained session, whose console session then lasts
    as long as its credentials, because the endpoint is reported to return
    HTTP 400 when such a session asks for a longer console session.
    """
    credentials = switch.credentials
    session = json.dumps(
        {
            "sessionId": credentials.access_key_id,
            "sessionKey": credentials.secret_access_key,
            "sessionToken": credentials.session_token or "",
        }
    )
    parameters = {"Action": "getSigninToken", "Session": session}
    if not switch.chained:
        seconds = min(switch.duration_seconds, MAX_SESSION_SECONDS)
        parameters["SessionDuration"] = str(seconds)
    return f"{endpoint}?{urlencode(parameters)}"


def login_url(endpoint: str, token: str, destination: str) -> str:
    """Return the ``login`` URL that opens the console with a sign-in token."""
    parameters = {"Action": "login", "Destination": destination, "SigninToken": token}
    return f"{endpoint}?{urlencode(parameters)}"


async def signin_url(switch: RoleSwitch, settings: SwitchSettings) -> str:
    """Exchange the role session for a sign-in token and return the login URL.

    Raises:
        SwitchError: the endpoint could not be reached or rejected the session.
    """
    endpoint = settings.federation_endpoint
    request = token_request_url(switch, endpoint)
    token = await asyncio.to_thread(_fetch_token, request, endpoint)
    return login_url(endpoint, token, console_destination(settings, switch.region))


def _fetch_token(url: str, endpoint: str) -> str:
    context = shared_ssl_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(
            url, timeout=TIMEOUT_SECONDS, context=context
        ) as answer:
            body = answer.read()
    except urllib.error.HTTPError as error:
        error.close()
        raise SwitchError(
            f"the federation endpoint {endpoint} rejected the role session "
            f"(HTTP {error.code}); assume the role again and retry"
        ) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SwitchError(
            f"cannot reach the federation endpoint {endpoint}: {reason}"
        ) from None
    try:
        token = json.loads(body)["SigninToken"]
    except (ValueError, KeyError, TypeError):
        raise SwitchError(
            f"the federation endpoint {endpoint} returned no SigninToken"
        ) from None
    if not isinstance(token, str) or not token:
        raise SwitchError(f"the federation endpoint {endpoint} returned an empty token")
    return token
