"""Helpers of the quotas collector (:mod:`collectors.sources.quotas`).

``settings`` reads the ``[quotas]`` config section. ``values`` reads quota
values from Service Quotas and caches them, ``usage`` reads usage history
from CloudWatch and ``counting`` counts resources that have no usage metric.
``rows`` turns all of it into the rows that the snapshot stores and the TUI
and ``orgtop check`` show.
"""
