"""AWS region and service names from the installed botocore's data.

Config values are checked against these lists so a typo such as
``us-eest-1`` or ``sevice-quotas.*`` is an error at start-up instead of
requests that fail or a rate limit that never applies.
"""

from __future__ import annotations

from functools import cache


@cache
def known_regions() -> frozenset[str]:
    """Return every region of every partition in botocore's endpoint data."""
    import botocore.session

    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ec2", partition_name=partition))
    return frozenset(regions)


@cache
def known_services() -> frozenset[str]:
    """Return the service names botocore has models for (``ce``, ``sts``...)."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_available_services())


def unknown_region_hint(region: str) -> str:
    """Explain why ``region`` was rejected and what to do."""
    import botocore

    return (
        f"{region!r} is not an AWS region known to botocore {botocore.__version__}; "
        "check the spelling, or upgrade orgtop if the region is new"
    )
