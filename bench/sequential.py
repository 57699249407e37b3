"""The baseline: a plain sequential boto3 loop making a refresh's calls again.

The loop makes the calls a refresh recorded, in the same order, one at a
time, with one boto3 session and one client per set of credentials, service
and region. It assumes roles itself: the credentials in the response to a recorded
``AssumeRole`` (or ``GetSessionToken``) call sign the calls recorded under
that role (or the MFA session) afterwards.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import boto3
import botocore.exceptions

from bench.harness import Measurement, RecordedCall, peak_rss_mib
from bench.replay import ServedWorld

SEQUENTIAL_LOOP = "sequential boto3 loop"


def sequential_loop(served: ServedWorld, calls: list[RecordedCall]) -> Measurement:
    """Make ``calls`` one after another with plain boto3 and measure the loop."""
    session = boto3.Session()
    user = served.user_credentials
    credentials: dict[str, tuple[str, str, str | None]] = {
        "source-base": (user.access_key_id, user.secret_access_key, user.session_token)
    }
    clients: dict[tuple[str, str, str], Any] = {}
    attempts: Counter[str] = Counter()
    error_responses = 0

    def count(event_name: str, **_: Any) -> None:
        parts = event_name.split(".")
        attempts[f"{parts[1]}.{parts[2]}"] += 1

    server_before = served.counts()
    cpu_before = time.process_time()
    started = time.perf_counter()
    for call in calls:
        key = (call.label, call.service, call.region)
        client = clients.get(key)
        if client is None:
            access_key, secret_key, token = credentials[call.label]
            client = session.client(
                call.service,
                region_name=call.region,
                endpoint_url=served.endpoint,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                aws_session_token=token,
            )
            client.meta.events.register("before-send", count)
            clients[key] = client
        try:
            response = getattr(client, call.method)(**call.params)
        except botocore.exceptions.ClientError:
            # The refresh got the same error and handled it (an unknown
            # service code, for instance), so the loop moves on too.
            error_responses += 1
            continue
        if call.method == "get_session_token":
            credentials["source"] = _keys(response)
        elif call.method == "assume_role":
            credentials[call.params["RoleArn"]] = _keys(response)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    server_after = served.counts()
    for client in clients.values():
        client.close()
    server = {
        name: server_after[name] - server_before.get(name, 0)
        for name in server_after
        if server_after[name] != server_before.get(name, 0)
    }
    return Measurement(
        SEQUENTIAL_LOOP,
        served.accounts,
        wall,
        cpu,
        peak_rss_mib(),
        dict(attempts),
        server,
        error_responses=error_responses,
    )


def _keys(response: dict[str, Any]) -> tuple[str, str, str | None]:
    keys = response["Credentials"]
    return keys["AccessKeyId"], keys["SecretAccessKey"], keys.get("SessionToken")
