"""``FivetranAsyncHook``: the asynchronous client for triggers running in the triggerer's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from fivetran_provider import fields
from fivetran_provider._compat import aextra_dejson, aget_connection, amask_secret
from fivetran_provider.exceptions import FivetranAPIError, FivetranDeadlineError, FivetranTransportError
from fivetran_provider.hooks.async_pool import AsyncClientPool, PoolKey, borrow_pool, release_pool
from fivetran_provider.hooks.core import (
    ClientSettings,
    PageGuard,
    Remaining,
    VerifiedSend,
    call_seconds,
    encode_body,
    envelope_data,
    list_page,
    observe_budget,
    raise_for_response,
    wait_before_retry,
)
from fivetran_provider.hooks.fivetran_hook import LIST_PATH, FivetranHook
from fivetran_provider.retry import RetryPolicy, passes_deadline


class FivetranAsyncHook(FivetranHook):
    """The asynchronous side of :class:`FivetranHook`, for triggers running in the triggerer's event loop.

    Nothing here blocks the loop: the Airflow connection and its extras are read through
    Airflow's async API, secrets are masked with its async masker, HTTP goes through
    ``httpx.AsyncClient`` and waits use ``asyncio.sleep``. Errors and retries follow exactly the
    same rules as the synchronous hook (:func:`~fivetran_provider.hooks.core.retry_wait`).

    The hooks of one event loop that use the same API URL, credentials and timeouts share one
    small pool of HTTP clients (at most
    :data:`~fivetran_provider.hooks.async_pool.MAX_CONCURRENT_REQUESTS` requests in flight, one
    TLS context) instead of building one client each, which with hundreds of triggers would
    stall the loop and cost a lot of memory. A hook borrows the pool on its first request and
    gives it back in :meth:`aclose`, which must be called when the hook is done (the last hook
    to give a pool back closes it).

    :param fivetran_conn_id: the Airflow connection id.
    :param connect_timeout: seconds to wait for a TCP connection.
    :param read_timeout: seconds to wait for an answer.
    :param retry_policy: a :class:`~fivetran_provider.retry.RetryPolicy` or a mapping of its fields.
    :param share_clients: share the event loop's pool of HTTP clients with other hooks; with
        False the hook builds its own clients (the trigger benchmark compares both).
    :param call_deadline: seconds one whole call may take, answer included.
    """

    def __init__(
        self,
        fivetran_conn_id: str = FivetranHook.default_conn_name,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retry_policy: RetryPolicy | Mapping[str, Any] | None = None,
        share_clients: bool = True,
        call_deadline: float | None = None,
    ) -> None:
        super().__init__(
            fivetran_conn_id,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry_policy=retry_policy,
            call_deadline=call_deadline,
        )
        self.share_clients = share_clients
        self._async_settings: ClientSettings | None = None
        self._pool: AsyncClientPool | None = None
        self._borrowed_key: PoolKey | None = None  # set while a shared pool is borrowed

    async def asettings(self) -> ClientSettings:
        """Resolve the client settings without blocking the event loop (cached)."""
        if self._async_settings is None:
            conn = await aget_connection(self.fivetran_conn_id)
            await amask_secret(self._api_secret(conn))
            self._async_settings = self._settings_from(conn, await aextra_dejson(conn))
        return self._async_settings

    def _resolved_settings(self) -> ClientSettings | None:
        return self._async_settings or super()._resolved_settings()

    @property
    def settings_key(self) -> tuple[Any, ...]:
        """What decides this hook's settings besides the Airflow connection's content.

        Hooks with equal keys resolve equal settings from the same connection, so one's
        :meth:`asettings` may serve the others (see :meth:`use_settings`).
        """
        policy = self._retry_policy
        policy_key = tuple(sorted(dict(policy).items())) if isinstance(policy, Mapping) else repr(policy)
        return (self.fivetran_conn_id, self._connect_timeout, self._read_timeout, self._call_deadline, policy_key)

    def use_settings(self, settings: ClientSettings) -> None:
        """Take the settings another hook with the same :attr:`settings_key` resolved, instead of reading them.

        :param settings: that hook's :meth:`asettings`.
        """
        self._async_settings = settings

    async def aclients(self) -> AsyncClientPool:
        """The HTTP clients of this hook: the shared pool (borrowed until :meth:`aclose`) or its own."""
        pool = self._pool
        if pool is None:
            settings = await self.asettings()
            pool = self._pool
            if pool is None:  # still none after the await: no other request of this hook got one
                if self.share_clients:
                    self._borrowed_key, pool = borrow_pool(settings)
                else:
                    pool = AsyncClientPool(settings)
                self._pool = pool
        return pool

    async def arequest(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request with the retry policy, asynchronously; return the response envelope.

        :param method: HTTP method.
        :param path: path starting with ``/v1/``.
        :param body: JSON body, if any.
        :param params: query parameters.
        """
        import httpx

        payload = encode_body(body)
        client = await self.aclients()
        settings = await self.asettings()
        policy = settings.retry_policy
        attempt = 0
        while True:
            try:
                deadline = call_seconds(settings, method, path)
                try:
                    response, content, headers = await client.fetch(
                        method, path, content=payload, params=params, deadline=deadline
                    )
                except asyncio.TimeoutError:
                    raise FivetranDeadlineError(method, path, deadline) from None
                except (httpx.HTTPError, httpx.StreamError, OSError, UnicodeError, ValueError) as error:
                    raise FivetranTransportError(method, path, type(error).__name__) from None
                observe_budget(settings, headers, response.status_code)
                text = content.decode("utf-8", errors="replace")
                return raise_for_response(response.status_code, text, headers, method, path)
            except (FivetranTransportError, FivetranAPIError) as error:
                attempt += 1
                wait = wait_before_retry(policy, error, method, path, attempt)
                if wait is None:
                    raise
                await asyncio.sleep(wait)

    async def aget_connection_details(self, connection_id: str) -> dict[str, Any]:
        """Read a connection asynchronously (``GET /v1/connections/{id}``).

        :param connection_id: the Fivetran connection id.
        """
        path = self._connection_path(connection_id)
        return envelope_data(await self.arequest("GET", path), "GET", path)

    async def alist_group_connections(self, group_id: str, *, page_size: int = 1000) -> list[dict[str, Any]]:
        """Read every connection of a group asynchronously (``GET /v1/connections?group_id=``, all pages).

        :param group_id: the group (destination) id.
        :param page_size: items per page (1 to 1000).
        :raises FivetranPagingError: a cursor repeated or the listing ran past
            :data:`~fivetran_provider.hooks.core.MAX_PAGES` pages.
        """
        fields.validate_connection_id(group_id, "group_id")
        params: dict[str, Any] = {"group_id": group_id, "limit": page_size}
        items: list[dict[str, Any]] = []
        guard = PageGuard(LIST_PATH, params)
        while True:
            page, cursor = list_page(await self.arequest("GET", LIST_PATH, params=params), LIST_PATH)
            items.extend(page)
            cursor = guard.next_cursor(cursor)
            if cursor is None:
                return items
            params["cursor"] = cursor

    async def astart_sync(
        self, connection_id: str, force: bool = False, *, baseline: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start a sync asynchronously (``POST /v1/connections/{id}/sync``), at most once.

        The same rule as :meth:`FivetranHook.start_sync`: after an unknown outcome the
        connection is read, and the request is sent again only if no sync has started since
        ``baseline``.

        :param connection_id: the Fivetran connection id.
        :param force: restart a running sync.
        :param baseline: the connection as read just before (read here when not given).
        """
        path = self._connection_path(connection_id) + "/sync"
        body = {"force": fields.coerce_bool("force", force)}
        before = await self.aget_connection_details(connection_id) if baseline is None else baseline
        return await self.asend_verified(
            "POST", path, body, connection_id=connection_id, remaining=self._resend_unless_synced(before, body["force"])
        )

    async def asend_verified(
        self, method: str, path: str, body: dict[str, Any], *, connection_id: str, remaining: Remaining
    ) -> dict[str, Any]:
        """:meth:`FivetranHook.send_verified`, asynchronously: after an unknown outcome, read before re-sending.

        :param method: HTTP method.
        :param path: request path.
        :param body: the validated request body.
        :param connection_id: the connection the request changes.
        :param remaining: ``(connection as read now, body sent) -> body still to send, or None``.
        :return: the response envelope.
        """
        plan = VerifiedSend(method, path, body, remaining, (await self.asettings()).retry_policy)
        while True:
            try:
                return await self.arequest(method, path, body=plan.body)
            except (FivetranTransportError, FivetranAPIError) as error:
                wait = plan.wait_before_reading(error)
                if wait is None or passes_deadline(wait):
                    raise
                await asyncio.sleep(wait)
                verified = plan.judge(await self._aread_back(plan, error, connection_id))
                if verified is not None:
                    return verified

    async def _aread_back(self, plan: VerifiedSend, cause: BaseException, connection_id: str) -> dict[str, Any]:
        """:meth:`FivetranHook._read_back`, asynchronously.

        :param plan: the request being verified.
        :param cause: why its outcome is unknown.
        :param connection_id: the connection it changes.
        """
        try:
            return await self.aget_connection_details(connection_id)
        except (FivetranTransportError, FivetranAPIError):
            pass  # a second chance, as in the synchronous hook
        try:
            return await self.aget_connection_details(connection_id)
        except (FivetranTransportError, FivetranAPIError) as error:
            raise plan.unverified(cause, error) from cause

    async def aclose(self) -> None:
        """Release the HTTP clients: give the shared pool back (the last user closes it) or close the own one.

        The hook can be used again afterwards; it then borrows anew.
        """
        pool, key = self._pool, self._borrowed_key
        self._pool = self._borrowed_key = None
        if pool is None:
            return
        if key is None:
            await pool.aclose()
        else:
            await release_pool(key, pool)
