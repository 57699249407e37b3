"""Seed the organization, its OUs, accounts and tags, and the IAM basics.

Accounts are created through moto's Organizations backend with the ids the
scenario gives them. IAM gets the identity account's users, groups and MFA
devices and, in every member account, the collector role and the scenario's
roles with their trust policies and AWS managed policies.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any
from unittest import mock

from moto.iam import iam_backends
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy
from moto.organizations import models as org_models
from moto.organizations.models import organizations_backends

from collectors.clients import Credentials
from collectors.demo.plugins import seeder

if TYPE_CHECKING:
    from collectors.demo.scenario import DemoAccount, DemoRole, Scenario
    from collectors.demo.server import DemoWorld

PARTITION = "aws"


@cache
def _managed_policy_data() -> dict[str, Any]:
    return dict(json.loads(aws_managed_policies_data))


def attach_aws_policy(iam: Any, role_name: str, arn: str) -> None:
    """Attach an AWS managed policy, loading just that one into the backend.

    moto loads no AWS managed policies by default (loading all ~1,300 per
    account costs seconds and memory), so the few the scenario uses are
    added on demand.
    """
    if arn not in iam.managed_policies:
        name = arn.rsplit("/", 1)[-1]
        data = _managed_policy_data().get(name)
        if data is None:
            raise KeyError(f"unknown AWS managed policy {arn}")
        policy = AWSManagedPolicy.from_data(name, iam.account_id, iam.region_name, data)
        iam.managed_policies[policy.arn] = policy
    iam.attach_role_policy(arn, role_name)


def trust_policy(scenario: Scenario, role: DemoRole) -> dict[str, Any]:
    """Build a role's trust policy from its ``trust`` setting."""
    if role.trust_policy is not None:
        return role.trust_policy
    if role.trust == "identity":
        principal = f"arn:aws:iam::{scenario.identity.id}:root"
    elif role.trust == "management":
        principal = f"arn:aws:iam::{scenario.management.id}:root"
    else:
        principal = role.trust
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole",
    }
    if role.require_mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": "2012-10-17", "Statement": [statement]}


@seeder(order=10)
def seed_organization(world: DemoWorld) -> None:
    """Create the organization, OUs and accounts with their tags and status."""
    scenario = world.scenario
    backend = organizations_backends[scenario.management.id][PARTITION]
    backend.create_organization(region=scenario.home_region, FeatureSet="ALL")
    assert backend.org is not None
    backend.org.id = scenario.organization_id
    root_id = backend.ou[0].id
    ous: dict[str, str] = {}
    members = scenario.members
    ids = iter(account.id for account in members)
    with mock.patch.object(
        org_models.utils, "make_random_account_id", lambda: next(ids)
    ):
        for account in members:
            backend.create_account(
                AccountName=account.name,
                Email=account.email,
                Tags=[{"Key": k, "Value": v} for k, v in account.tags.items()],
                RoleName=scenario.collector_role,
            )
    for fake in backend.accounts:
        if fake.id == scenario.management.id:
            fake.name = scenario.management.name
            fake.email = scenario.management.email
            continue
        account = scenario.account(fake.id)
        assert account is not None
        fake.status = account.status
        if account.ou:
            parent = _ensure_ou(backend, ous, root_id, account.ou)
            backend.move_account(
                AccountId=fake.id, SourceParentId=root_id, DestinationParentId=parent
            )
    if scenario.management.tags:
        backend.tag_resource(
            ResourceId=scenario.management.id,
            Tags=[{"Key": k, "Value": v} for k, v in scenario.management.tags.items()],
        )


def _ensure_ou(backend: Any, ous: dict[str, str], root_id: str, path: str) -> str:
    parent = root_id
    walked = ""
    for name in path.strip("/").split("/"):
        walked = f"{walked}/{name}"
        if walked not in ous:
            created = backend.create_organizational_unit(ParentId=parent, Name=name)
            ous[walked] = created["OrganizationalUnit"]["Id"]
        parent = ous[walked]
    return parent


@seeder(order=20)
def seed_identity(world: DemoWorld) -> None:
    """Create users, groups and MFA devices in the identity account."""
    scenario = world.scenario
    iam = iam_backends[scenario.identity.id][PARTITION]
    for group in scenario.groups:
        iam.create_group(group.name)
        for index, policy in enumerate(group.policies):
            iam.put_group_policy(group.name, f"grant-{index}", json.dumps(policy))
    for user in scenario.users:
        iam.create_user(scenario.home_region, user.name)
        for group_name in user.groups:
            iam.add_user_to_group(group_name, user.name)
        if user.mfa:
            device = iam.create_virtual_mfa_device(user.name, "/")
            iam.enable_mfa_device(user.name, device.serial_number, "123456", "654321")
            if user.name == scenario.demo_user:
                world.mfa_serial = device.serial_number
    key = iam.create_access_key(scenario.demo_user)
    world.user_credentials = Credentials(key.access_key_id, key.secret_access_key)


@seeder(order=30)
def seed_roles(world: DemoWorld) -> None:
    """Create the scenario's roles in the member accounts they belong to."""
    scenario = world.scenario
    collector_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "AWS": [
                        f"arn:aws:iam::{scenario.management.id}:root",
                        f"arn:aws:iam::{scenario.identity.id}:root",
                    ]
                },
                "Action": "sts:AssumeRole",
            }
        ],
    }
    for account in scenario.accounts:
        iam = iam_backends[account.id][PARTITION]
        if scenario.collector_role in account.missing_roles:
            if _has_role(iam, scenario.collector_role):
                iam.delete_role(scenario.collector_role)
        elif not _has_role(iam, scenario.collector_role):
            _create_role(iam, scenario.collector_role, collector_trust, 3600)
        if _has_role(iam, scenario.collector_role):
            iam.update_assume_role_policy(
                scenario.collector_role, json.dumps(collector_trust)
            )
            attach_aws_policy(
                iam, scenario.collector_role, "arn:aws:iam::aws:policy/ReadOnlyAccess"
            )
        if account.id == scenario.management.id:
            continue
        for role in scenario.roles:
            if role.accounts and not _in(account, role.accounts):
                continue
            if role.name in account.missing_roles:
                continue
            _create_role(
                iam, role.name, trust_policy(scenario, role), role.max_session_seconds
            )
            for arn in role.managed_policies:
                attach_aws_policy(iam, role.name, arn)


def _in(account: DemoAccount, keys: list[str]) -> bool:
    return account.name in keys or account.id in keys or f"env:{account.env}" in keys


def _has_role(iam: Any, name: str) -> bool:
    return any(role.name == name for role in iam.roles.values())


def _create_role(iam: Any, name: str, trust: dict[str, Any], max_session: int) -> None:
    iam.create_role(
        role_name=name,
        assume_role_policy_document=json.dumps(trust),
        path="/",
        permissions_boundary=None,
        description="",
        tags=[],
        max_session_duration=str(max_session),
    )
