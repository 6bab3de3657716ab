"""Account, groups, destinations and users of the simulated account."""

from __future__ import annotations

from typing import Any

from fivetran_provider.testing.errors import ApiError
from fivetran_provider.testing.state_base import StateBase
from fivetran_provider.testing.timestamps import format_timestamp


class AccountsState(StateBase):
    """The account itself, its groups (one destination each) and its one user."""

    account_id: str
    account_name: str
    user_id: str
    user_email: str
    created_at: float

    def _init_account(self, account_name: str) -> None:
        self.account_id = self.new_id()
        self.user_id = self.new_id()
        self.account_name = account_name
        self.user_email = "simulated.user@example.com"
        self.created_at = self.clock.now()

    def account_info(self) -> dict[str, Any]:
        """The ``data`` of ``GET /v1/account/info``."""
        return {"account_id": self.account_id, "account_name": self.account_name, "user_id": self.user_id}

    def add_group(self, group_id: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Create a group.

        :param group_id: id to use; generated when ``None``.
        :param name: group name; derived from the id when ``None``.
        :return: the group as the API returns it.
        :raises ValueError: if the id is already used by a group.
        """
        with self.lock:
            return self._new_group(group_id, name).view()

    def get_group(self, group_id: str) -> dict[str, Any]:
        """``GET /v1/groups/{id}`` data.

        :param group_id: group id.
        :raises ApiError: 404 ``NotFound_Group``.
        """
        with self.lock:
            group = self._groups.get(group_id)
            if group is None:
                raise ApiError(404, "NotFound_Group", f"Cannot find entity 'Group' with id '{group_id}'.")
            return group.view()

    def get_destination(self, destination_id: str) -> dict[str, Any]:
        """``GET /v1/destinations/{id}`` data: every group has one destination with the group's id.

        :param destination_id: destination (= group) id.
        :raises ApiError: 404 ``NotFound_Destination``.
        """
        with self.lock:
            group = self._groups.get(destination_id)
            if group is None:
                raise ApiError(404, "NotFound_Destination", f"Destination with id '{destination_id}' not found")
            return group.destination_view()

    def list_users(self) -> list[dict[str, Any]]:
        """``GET /v1/users`` items: the one user the API key belongs to."""
        with self.lock:
            stamp = format_timestamp(self.created_at)
            return [
                {
                    "id": self.user_id,
                    "email": self.user_email,
                    "given_name": "Simulated",
                    "family_name": "User",
                    "verified": True,
                    "invited": False,
                    "active": True,
                    "role": "Account Administrator",
                    "logged_in_at": stamp,
                    "created_at": stamp,
                }
            ]

    def list_groups(self) -> list[dict[str, Any]]:
        """All groups in creation order."""
        with self.lock:
            return [group.view() for group in self._groups.values()]
