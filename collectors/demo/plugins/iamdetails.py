"""IAM ``GetAccountAuthorizationDetails`` paged and filtered as AWS does it.

moto 5.2.5 serves this operation from its backend, but:

- it ignores ``MaxItems`` and ``Marker``: everything comes in one page with
  ``IsTruncated`` false, so a client's paging is never exercised;
- under the ``LocalManagedPolicy`` filter it also returns the AWS managed
  policies the demo loads on demand (they are missing from moto's own list
  of AWS policies), ``ReadOnlyAccess`` alone being about 100 kB per account;
- it has no permissions boundaries for users (no
  ``PutUserPermissionsBoundary``), so ``UserDetail`` never carries one.

This handler serves the operation from moto's models with those three
fixed: entities are paged in the order users, groups, roles, policies; the
AWS managed policies listed under ``AWSManagedPolicy`` are those attached in
the account (AWS's reference does not say which it lists); user boundaries
come from ``world.extra``, where the access plugin keeps them. The XML is
rendered by moto's own serializer, so it stays the shape moto gives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.core.serialize import XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model
from moto.iam import iam_backends
from moto.iam.responses import IamResponse

from collectors.demo.plugins import Response, expect, handler, paginate
from collectors.demo.plugins.access import BOUNDARIES
from collectors.demo.plugins.organization import PARTITION

if TYPE_CHECKING:
    from collectors.demo.server import DemoWorld
    from collectors.demo.wire import WireRequest

KINDS = ("User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy")
LIST_OF = {
    "User": "UserDetailList",
    "Group": "GroupDetailList",
    "Role": "RoleDetailList",
    "LocalManagedPolicy": "Policies",
    "AWSManagedPolicy": "Policies",
}


class User:
    """A moto user with the permissions boundary moto cannot store.

    The class must be called ``User``: moto's serializer finds ``UserName``
    and ``UserId`` as ``name`` and ``id`` by stripping the class name.
    """

    def __init__(self, user: Any, boundary_arn: str) -> None:
        self._user = user
        self.permissions_boundary = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": boundary_arn,
        }

    def __getattr__(self, name: str) -> Any:
        return getattr(self._user, name)


@handler("iam", "GetAccountAuthorizationDetails")
def get_account_authorization_details(
    world: DemoWorld, request: WireRequest
) -> Response:
    """List users, groups, roles and managed policies, one page at a time."""
    form = request.form()
    kinds = [value for key, value in form.items() if key.startswith("Filter.member.")]
    for kind in kinds:
        expect(
            kind in KINDS,
            f"Value {kind!r} at 'filter' must be one of {', '.join(KINDS)}",
        )
    max_items = int(form.get("MaxItems", "100"))
    expect(1 <= max_items <= 1000, "MaxItems must be between 1 and 1000")
    marker = form.get("Marker")
    expect(marker is None or marker.isdigit(), "Invalid Marker")

    entities = _entities(world, request.account, kinds or list(KINDS))
    page, following = paginate(entities, marker, max_items, default=100)
    result: dict[str, Any] = {key: [] for key in set(LIST_OF.values())}
    for kind, entity in page:
        result[LIST_OF[kind]].append(entity)
    result["IsTruncated"] = following is not None
    if following is not None:
        result["Marker"] = following
    return _serialize(result)


def _entities(
    world: DemoWorld, account_id: str, kinds: list[str]
) -> list[tuple[str, Any]]:
    iam = iam_backends[account_id][PARTITION]
    boundaries = world.extra.get(BOUNDARIES, {})
    found: list[tuple[str, Any]] = []
    if "User" in kinds:
        for user in iam.users.values():
            boundary = boundaries.get((account_id, user.name))
            found.append(("User", User(user, boundary) if boundary else user))
    if "Group" in kinds:
        found += [("Group", group) for group in iam.groups.values()]
    if "Role" in kinds:
        found += [("Role", role) for role in iam.roles.values()]
    for policy in iam.managed_policies.values():
        aws_managed = policy.arn.split(":")[4] == "aws"
        if not aws_managed and "LocalManagedPolicy" in kinds:
            found.append(("LocalManagedPolicy", policy))
        elif aws_managed and "AWSManagedPolicy" in kinds and policy.attachment_count:
            found.append(("AWSManagedPolicy", policy))
    return found


def _serialize(result: dict[str, Any]) -> Response:
    operation = get_service_model("iam").operation_model(
        "GetAccountAuthorizationDetails"
    )
    serializer = get_serializer_class("iam", "query")(
        operation_model=operation,
        pretty_print=False,
        value_picker=XFormedAttributePicker(
            response_transformers=IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER
        ),
    )
    rendered = serializer.serialize(result)
    body = rendered["body"]
    headers = dict(rendered["headers"])
    headers.setdefault("Content-Type", "text/xml")
    return (
        int(rendered["status_code"]),
        headers,
        body.encode() if isinstance(body, str) else body,
    )
