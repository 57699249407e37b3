"""One task's access to AWS: clients under its role and rate-limited calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collectors.clients import REQUEST_CREDENTIALS

if TYPE_CHECKING:
    from collectors.refresh import Refresher

DEFAULT_RATE_LIMITS = {
    # Service Quotas allows about 10 requests per second per account and region.
    "service-quotas.*": 10.0,
    # Organizations throttles calls from the management account; 20 a second per
    # operation keeps a 1,000-account inventory near a minute.
    "organizations.*": 20.0,
    # Cost Explorer allows about 5 requests per second.
    "ce.*": 5.0,
}


class TaskCaller:
    """Gives one task clients under its role and rate-limited calls."""

    def __init__(
        self, refresher: Refresher, role_arn: str, account_id: str, region: str
    ) -> None:
        """Bind the caller to a role, an account and a default region."""
        self.refresher = refresher
        self.role_arn = role_arn
        self.account_id = account_id
        self.region = region
        self.operation = ""

    async def client(self, service: str, region: str | None = None) -> Any:
        """Return the shared client of ``service``; :meth:`call` signs as the role."""
        return await self.refresher.roles.client(
            self.role_arn, service, region or self.region
        )

    async def call(self, client: Any, operation: str, **kwargs: Any) -> Any:
        """Rate-limit and make one API call, remembering its name for errors."""
        service = client.meta.service_model.service_name
        api_name = client.meta.method_to_api_mapping.get(operation, operation)
        self.operation = api_name
        rate = self.refresher.rate_for(service, api_name)
        region = client.meta.region_name
        await self.refresher.limiter.wait(
            f"{service}.{api_name}/{self.account_id}/{region}", rate
        )
        signing = await self.refresher.roles.signing_credentials(self.role_arn)
        token = REQUEST_CREDENTIALS.set(signing)
        try:
            return await getattr(client, operation)(**kwargs)
        finally:
            REQUEST_CREDENTIALS.reset(token)

    async def renew(self) -> None:
        """Drop the cached role session so the next call assumes the role again."""
        await self.refresher.roles.drop(self.role_arn)
