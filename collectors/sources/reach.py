"""Reachability: can the collector role be assumed, and as whom?

One ``GetCallerIdentity`` per account under the collector role. It proves the
role works before the heavier collectors run and gives every account a status
even when no other source is configured.
"""

from __future__ import annotations

from typing import Any

from collectors.registry import Collector, Scope, TaskContext, register


@register
class ReachCollector(Collector):
    """Checks that each account's collector role can be assumed."""

    name = "reach"
    title = "Access check"
    scope = Scope.ACCOUNT
    order = 10
    partial = True

    async def collect(self, context: TaskContext) -> Any:
        """Call ``GetCallerIdentity`` under the account's collector role."""
        sts = await context.client("sts")
        answer = await context.call(sts, "get_caller_identity")
        return {"arn": answer["Arn"], "account": answer["Account"]}
