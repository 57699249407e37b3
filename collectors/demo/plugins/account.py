"""Account Management ``ListRegions``, which moto does not implement.

Answers from the scenario: its regions are enabled unless the account lists
them in ``disabled_regions``; the other opt-in regions are shown disabled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collectors.demo.plugins import Response, expect, handler, paginate
from collectors.demo.scenario import KNOWN_REGIONS
from collectors.demo.wire import error_response, json_response

if TYPE_CHECKING:
    from collectors.demo.server import DemoWorld
    from collectors.demo.wire import WireRequest

DEFAULT_ENABLED = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-north-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "sa-east-1",
    }
)


@handler("account", "ListRegions")
def list_regions(world: DemoWorld, request: WireRequest) -> Response:
    """List regions with their opt-in status for one account of the org."""
    body = request.json()
    scenario = world.scenario
    account = scenario.account(body.get("AccountId") or request.account)
    if account is None:
        return error_response(
            request, "AccessDeniedException", "The account is not in your organization."
        )
    max_results = body.get("MaxResults")
    expect(
        max_results is None or 1 <= int(max_results) <= 50,
        "MaxResults must be between 1 and 50",
    )
    wanted = set(body.get("RegionOptStatusContains") or [])
    regions = []
    for name in sorted(KNOWN_REGIONS):
        if name in account.disabled_regions:
            status = "DISABLED"
        elif name in scenario.regions:
            status = "ENABLED_BY_DEFAULT" if name in DEFAULT_ENABLED else "ENABLED"
        else:
            status = "ENABLED_BY_DEFAULT" if name in DEFAULT_ENABLED else "DISABLED"
        if not wanted or status in wanted:
            regions.append({"RegionName": name, "RegionOptStatus": status})
    page, token = paginate(regions, body.get("NextToken"), max_results, default=50)
    answer: dict[str, object] = {"Regions": page}
    if token:
        answer["NextToken"] = token
    return json_response(answer, "rest-json")
