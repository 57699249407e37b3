"""EC2 ``DescribeAddresses`` served from the scenario's quota usage.

AWS publishes no usage metric for the Elastic IP quota, so a client counts
the addresses instead. The count is the usage model's level for the quota
in the calling account and region. Answering here also keeps moto from
building a whole EC2 backend (AMIs, default VPC) for every account and
region of a 1,000-account organization just to return an empty list.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING

from collectors.demo.plugins import Response, expect, handler
from collectors.demo.plugins.quotausage import usage_spec

if TYPE_CHECKING:
    from collectors.demo.server import DemoWorld
    from collectors.demo.wire import WireRequest

ELASTIC_IP_QUOTA = "L-0263D0A3"
XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"


@handler("ec2", "DescribeAddresses")
def describe_addresses(world: DemoWorld, request: WireRequest) -> Response:
    """List the account's Elastic IP addresses in the region (no filters)."""
    form = request.form()
    expect(
        not any(
            key.startswith(("Filter.", "AllocationId.", "PublicIp.")) for key in form
        ),
        "the demo server's DescribeAddresses takes no filters, allocation ids or IPs",
    )
    spec = usage_spec(world.scenario, request.account, request.region, ELASTIC_IP_QUOTA)
    count = round(spec.level) if spec else 0
    items = "".join(_item(request.account, request.region, n) for n in range(count))
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<DescribeAddressesResponse xmlns="{XMLNS}">'
        f"<requestId>{uuid.uuid4()}</requestId><addressesSet>{items}</addressesSet>"
        "</DescribeAddressesResponse>"
    )
    return 200, {"Content-Type": "text/xml"}, body.encode()


def _item(account: str, region: str, number: int) -> str:
    digest = hashlib.sha256(f"{account}:{region}:{number}".encode()).hexdigest()
    # 198.51.100.0/24 is TEST-NET-2, reserved for documentation (RFC 5737);
    # past 254 addresses the demo repeats them.
    address = f"198.51.100.{number % 254 + 1}"
    return (
        f"<item><publicIp>{address}</publicIp>"
        f"<allocationId>eipalloc-{digest[:17]}</allocationId>"
        f"<domain>vpc</domain><networkBorderGroup>{region}</networkBorderGroup>"
        "<publicIpv4Pool>amazon</publicIpv4Pool></item>"
    )
