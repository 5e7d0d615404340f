"""The identity provider through SCIM 2.0 (RFC 7644), with scim2-client and scim2-models:
find the staff member's user by a filter, then ``PATCH active`` false to suspend and true
to reinstate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from insiderwatch.respond.config import ScimTarget
from insiderwatch.respond.sinks.base import DeliveryError, secret_from_env

if TYPE_CHECKING:
    from scim2_client.engines.httpx2 import SyncSCIMClient


def _quoted(value: str) -> str:
    """A value inside a SCIM filter's double quotes (RFC 7644 3.4.2.2: JSON string)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


class ScimDirectory:
    def __init__(self, target: ScimTarget) -> None:
        self.target = target
        self._scim: SyncSCIMClient | None = None

    def _client(self) -> SyncSCIMClient:
        if self._scim is None:
            # Imported here: scim2's pydantic models take a while to build, and only a
            # containment action needs them, not every command that loads the responder.
            import httpx2
            from scim2_client.engines.httpx2 import SyncSCIMClient

            headers = {}
            token = secret_from_env(self.target.token_env, "scim target")
            if token:
                headers["Authorization"] = "Bearer " + token.decode()
            http = httpx2.Client(
                base_url=self.target.url, headers=headers, timeout=self.target.timeout_seconds
            )
            scim = SyncSCIMClient(http)
            scim.discover()
            self._scim = scim
        return self._scim

    def set_active(self, employee_id: str, active: bool) -> str:
        """PATCH the user's ``active``; returns what was done, raises DeliveryError."""
        import httpx2
        from scim2_client import SCIMClientException
        from scim2_models import PatchOp, PatchOperation, SCIMException, SearchRequest, User

        try:
            scim = self._client()
            query = self.target.user_filter.format(employee_id=_quoted(employee_id))
            found = scim.query(User, query_parameters=SearchRequest(filter=query))
            if not found.resources:
                raise DeliveryError(f"SCIM: no user matches {query}")
            if len(found.resources) > 1:
                raise DeliveryError(f"SCIM: {len(found.resources)} users match {query}")
            user = found.resources[0]
            operation = PatchOperation(op="replace", path="active", value=active)
            scim.modify(type(user), user.id, PatchOp[type(user)](operations=[operation]))
        except (SCIMClientException, SCIMException, httpx2.HTTPError) as exc:
            self._scim = None
            raise DeliveryError(f"SCIM {self.target.url}: {type(exc).__name__}: {exc}") from None
        return f"SCIM user {user.id} active={str(active).lower()}"
