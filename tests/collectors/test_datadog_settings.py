"""Datadog settings: sites, keys and metric queries from the environment and the config.

The site tests run the collector's real client through a recording proxy on
127.0.0.1: the client asks the proxy to ``CONNECT`` to the site's API host,
the proxy writes the host down and refuses, so nothing leaves the machine.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from collectors.config import load_config
from collectors.datadog.api import Unreachable, build_configuration
from collectors.datadog.settings import (
    DatadogSettings,
    group_query,
    known_sites,
    parse_settings,
)
from collectors.errors import ConfigError
from collectors.model import utcnow
from collectors.registry import TaskContext
from collectors.sources.datadog import DatadogCollector
from collectors.tomlcheck import Table

SITES = {
    "datadoghq.com": "api.datadoghq.com",
    "us3.datadoghq.com": "api.us3.datadoghq.com",
    "us5.datadoghq.com": "api.us5.datadoghq.com",
    "ap1.datadoghq.com": "api.ap1.datadoghq.com",
    "datadoghq.eu": "api.datadoghq.eu",
    "ddog-gov.com": "api.ddog-gov.com",
    "us3": "api.us3.datadoghq.com",
    "us5": "api.us5.datadoghq.com",
    "ap1": "api.ap1.datadoghq.com",
    "eu": "api.datadoghq.eu",
    "gov": "api.ddog-gov.com",
    "https://app.datadoghq.eu/": "api.datadoghq.eu",
}


class ConnectRecorder(socketserver.StreamRequestHandler):
    """Reads one ``CONNECT host:port`` request, records the target and refuses it."""

    targets: list[str]

    def handle(self) -> None:
        request_line = self.rfile.readline().decode().split()
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        if len(request_line) >= 2 and request_line[0] == "CONNECT":
            self.targets.append(request_line[1])
        self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def proxy() -> Iterator[tuple[str, list[str]]]:
    targets: list[str] = []
    handler = type("Recorder", (ConnectRecorder,), {"targets": targets})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", targets
    server.shutdown()
    server.server_close()
    thread.join()


class NoAws:
    """A caller for an organization task that fails on any AWS client or call."""

    async def client(self, service: str, region: str | None = None) -> Any:
        raise AssertionError(f"the Datadog collector asked for an AWS {service} client")

    async def call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        raise AssertionError(f"the Datadog collector called AWS {operation}")


def settings_from(
    text: str = "", environ: dict[str, str] | None = None, path: str = "config.toml"
) -> DatadogSettings:
    import tomllib

    data = tomllib.loads(text).get("datadog", {})
    return parse_settings(Table(data, path, text, "datadog"), environ or {})


@pytest.mark.parametrize("value", list(SITES))
def test_site_sets_client_host(value: str) -> None:
    settings = settings_from(environ={"DD_SITE": value})
    assert build_configuration(settings).host == f"https://{SITES[value]}"


@pytest.mark.parametrize("value", list(SITES))
async def test_client_connects_to_site_host(
    value: str, proxy: tuple[str, list[str]]
) -> None:
    url, targets = proxy
    settings = replace(
        settings_from(
            environ={"DD_SITE": value, "DD_API_KEY": "a" * 32, "DD_APP_KEY": "b" * 40}
        ),
        proxy=url,
    )
    context = TaskContext(
        "datadog", None, "us-east-1", settings, None, utcnow(), True, NoAws()
    )
    with pytest.raises(Unreachable) as failed:
        await DatadogCollector().collect(context)
    assert set(targets) == {f"{SITES[value]}:443"}
    assert f"https://{SITES[value]}" in str(failed.value)


def test_every_client_site_is_accepted() -> None:
    for site in known_sites():
        assert settings_from(environ={"DD_SITE": site}).site == site


def test_unknown_site_in_env_is_rejected() -> None:
    with pytest.raises(ConfigError) as rejected:
        settings_from(environ={"DD_SITE": "datadoghq.con"})
    assert str(rejected.value).startswith(
        "DD_SITE: 'datadoghq.con' is not a Datadog site"
    )
    assert "datadoghq.eu" in str(rejected.value)


def test_unknown_site_in_config_names_line() -> None:
    with pytest.raises(ConfigError) as rejected:
        settings_from('[datadog]\naccount_tag = "aws_account"\nsite = "example.com"\n')
    assert rejected.value.line == 3
    assert rejected.value.key == "datadog.site"


def test_environment_wins_over_config() -> None:
    text = (
        '[datadog]\nsite = "datadoghq.eu"\n'
        'api_key = "from-file"\napp_key = "app-from-file"\n'
    )
    settings = settings_from(text, {"DD_SITE": "us5", "DD_API_KEY": "from-env"})
    assert settings.site == "us5.datadoghq.com"
    assert settings.site_source == "DD_SITE"
    assert settings.api_key == "from-env"
    assert settings.api_key_source == "DD_API_KEY"
    assert settings.app_key == "app-from-file"
    assert settings.app_key_source == "app_key in [datadog] in config.toml"


def test_keys_never_in_repr() -> None:
    settings = settings_from(
        environ={"DD_API_KEY": "secret-api", "DD_APP_KEY": "secret-app"}
    )
    assert "secret-api" not in repr(settings)
    assert "secret-app" not in repr(settings)


def test_config_file_reads_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DD_SITE", "datadoghq.eu")
    monkeypatch.setenv("DD_API_KEY", "a" * 32)
    path = tmp_path / "config.toml"
    path.write_text("[datadog]\nwindow_minutes = 60\n")
    settings = load_config(path).settings_for("datadog")
    assert settings.site == "datadoghq.eu"
    assert settings.api_key == "a" * 32
    assert settings.window_seconds == 3600


def test_default_metrics_group_by_account() -> None:
    settings = settings_from()
    assert len(settings.metrics) == 6
    assert all(" by {aws_account}" in metric.query for metric in settings.metrics)
    errors = next(m for m in settings.metrics if m.id == "lambda-errors")
    assert errors.query == "sum:aws.lambda.errors{*} by {aws_account}.as_count()"
    assert errors.aggregator == "sum"


def test_configured_metrics_replace_defaults() -> None:
    text = """
[datadog]
account_tag = "account_id"

[[datadog.metric]]
label = "DynamoDB throttles"
query = "sum:aws.dynamodb.throttled_requests{env:prod}.as_count()"
unit = "requests"

[[datadog.metric]]
label = "API 5xx"
query = "sum:aws.apigateway.5xxerror{*} by {account_id,region}"
"""
    metrics = settings_from(text).metrics
    assert [m.id for m in metrics] == ["dynamodb-throttles", "api-5xx"]
    assert (
        metrics[0].query
        == "sum:aws.dynamodb.throttled_requests{env:prod} by {account_id}.as_count()"
    )
    assert metrics[0].unit == "requests"
    assert metrics[1].query == "sum:aws.apigateway.5xxerror{*} by {account_id,region}"
    assert metrics[1].unit == ""


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("avg:aws.ec2.cpuutilization", "has no scope"),
        ("avg:aws.ec2.cpuutilization{*} by {region}", "not by the account tag"),
    ],
)
def test_bad_metric_query_rejected(query: str, message: str) -> None:
    text = f'[datadog]\n[[datadog.metric]]\nlabel = "x"\nquery = "{query}"\n'
    with pytest.raises(ConfigError) as rejected:
        settings_from(text)
    assert message in str(rejected.value)
    assert rejected.value.line == 4


def test_duplicate_metric_id_rejected() -> None:
    text = (
        '[datadog]\n[[datadog.metric]]\nlabel = "CPU"\nquery = "avg:a{*}"\n'
        '[[datadog.metric]]\nlabel = "cpu"\nquery = "avg:b{*}"\n'
    )
    with pytest.raises(ConfigError) as rejected:
        settings_from(text)
    assert "already has the id 'cpu'" in str(rejected.value)


def test_unknown_key_rejected() -> None:
    with pytest.raises(ConfigError) as rejected:
        settings_from('[datadog]\nsight = "datadoghq.eu"\n')
    assert rejected.value.key == "datadog.sight"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("window_minutes", "1"),
        ("points", "1"),
        ("max_wait_seconds", "-1"),
        ("request_timeout_seconds", "0"),
        ("account_tag", '"Bad Tag"'),
    ],
)
def test_out_of_range_values_rejected(key: str, value: str) -> None:
    with pytest.raises(ConfigError) as rejected:
        settings_from(f"[datadog]\n{key} = {value}\n")
    assert rejected.value.key == f"datadog.{key}"


def test_group_query_keeps_function_after_grouping() -> None:
    grouped = group_query(
        "max:aws.sqs.approximate_age_of_oldest_message{env:prod}.rollup(max, 600)",
        "aws_account",
    )
    assert grouped == (
        "max:aws.sqs.approximate_age_of_oldest_message{env:prod} by {aws_account}"
        ".rollup(max, 600)"
    )


def test_disabled_reason_without_keys() -> None:
    collector = DatadogCollector()
    assert "DD_API_KEY" in (collector.disabled_reason(settings_from()) or "")
    assert "DD_APP_KEY" in (
        collector.disabled_reason(settings_from(environ={"DD_API_KEY": "k"})) or ""
    )
    assert (
        collector.disabled_reason(
            settings_from(environ={"DD_API_KEY": "k", "DD_APP_KEY": "a"})
        )
        is None
    )
    assert "enabled = false" in (
        collector.disabled_reason(settings_from("[datadog]\nenabled = false\n")) or ""
    )
