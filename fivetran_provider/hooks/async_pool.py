"""A small pool of ``httpx.AsyncClient`` per event loop, shared by the asynchronous hooks of that loop."""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Any

from fivetran_provider.awaiting import wait_at_most
from fivetran_provider.hooks.answer import ACCEPT_ENCODING, AnswerBody
from fivetran_provider.hooks.core import ACCEPT, USER_AGENT, ClientSettings

if TYPE_CHECKING:
    import ssl

    import httpx  # imported at run time only when the first client is built

#: Requests in flight at once per pool of the async hook; further requests wait their turn (FIFO).
#: Each client of the pool carries one request at a time on one kept-alive connection. One
#: multi-connection client would be simpler, but httpcore rescans all of a pool's connections
#: (and its whole queue) whenever a request starts or ends, which costs more event-loop CPU than
#: the request itself once there are dozens of connections. 64 in flight keeps a thousand waits
#: polling every second on time when each answer takes about 50 ms (measured with
#: ``benchmarks/triggers.py``; 16 capped them at about 300 polls per second).
MAX_CONCURRENT_REQUESTS = 64

# ---------------------------------------------------------------------- async HTTP clients

_LOCATION = "fivetran_provider.location"


async def _set_location_aside(response: httpx.Response) -> None:
    """Move a redirect's ``Location`` out of the headers before httpx parses it.

    Redirects are never followed, yet httpx builds the next request from ``Location`` and fails
    on a malformed one (``http://[::1/v1``) as if the answer never came. Set aside, it reaches
    the redirect error instead, which is raised once and never retried.

    :param response: an answer, before httpx looks for a redirect.
    """
    if 300 <= response.status_code < 400 and "Location" in response.headers:
        response.extensions[_LOCATION] = response.headers["Location"]
        del response.headers["Location"]


PoolKey = tuple[asyncio.AbstractEventLoop, str, str, float, float]


class AsyncClientPool:
    """A few ``httpx.AsyncClient``, each carrying one request at a time on one kept-alive connection.

    Clients are built on demand, up to ``size``; once all are busy, further requests wait for
    one to come free, first come first served. All clients share one TLS context, so the CA
    bundle is loaded once per pool rather than once per client. Offers the part of
    ``httpx.AsyncClient`` the async hook uses (:meth:`fetch`, :meth:`aclose`).

    :param settings: the base URL, credentials and timeouts of every client.
    :param size: the most clients, i.e. requests in flight at once (``None``:
        :data:`MAX_CONCURRENT_REQUESTS`).
    """

    def __init__(self, settings: ClientSettings, size: int | None = None) -> None:
        self.size = MAX_CONCURRENT_REQUESTS if size is None else size
        self.users = 0  # hooks that borrowed the pool from the registry and have not released it
        self.clients: list[httpx.AsyncClient] = []
        self._settings = settings
        self._idle: asyncio.LifoQueue[httpx.AsyncClient] = asyncio.LifoQueue()  # warmest connection first
        self._tls: ssl.SSLContext | None = None
        self._tls_loading: asyncio.Future[ssl.SSLContext] | None = None

    def _new_client(self) -> httpx.AsyncClient:
        import httpx

        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        settings = self._settings
        client = httpx.AsyncClient(
            base_url=settings.base_url,
            auth=(settings.api_key, settings.api_secret),
            headers={
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            verify=self._tls,
            event_hooks={"response": [_set_location_aside]},
        )
        self.clients.append(client)
        return client

    async def aprepare(self) -> None:
        """Load the CA bundle (tens of ms of CPU) in a worker thread, so the first request does not stall the loop."""
        if self._tls is not None:
            return
        if self._tls_loading is None:  # one thread for every hook asking at once
            import httpx

            self._tls_loading = asyncio.ensure_future(asyncio.to_thread(httpx.create_ssl_context))
        tls = await asyncio.shield(self._tls_loading)
        if self._tls is None:
            self._tls = tls

    async def fetch(
        self, method: str, url: str, *, deadline: float, **kwargs: Any
    ) -> tuple[httpx.Response, bytes, httpx.Headers]:
        """Send one request on a free client and read its body, bounded, within ``deadline`` seconds.

        The raw body is decoded by :class:`~fivetran_provider.hooks.answer.AnswerBody` (size cap,
        answers cut short), exactly as in the synchronous client. A redirect's ``Location`` is
        handed back in the headers but never parsed by the HTTP library.

        :param method: HTTP method.
        :param url: path relative to the base URL.
        :param deadline: seconds the request may take once a client is free; ``asyncio.TimeoutError`` after.
        :param kwargs: further arguments of ``httpx.AsyncClient.build_request``.
        :return: the response (body closed), the decoded body and the headers.
        """
        if self._idle.empty() and len(self.clients) < self.size:
            client = self._new_client()
        else:
            client = await self._idle.get()

        async def exchange() -> tuple[httpx.Response, bytes, httpx.Headers]:
            response = await client.send(client.build_request(method, url, **kwargs), stream=True)
            try:
                body = AnswerBody(response.status_code, response.headers, method, url)
                async for chunk in response.aiter_raw():
                    body.feed(chunk)
                content = body.finish()
            finally:
                await response.aclose()
            headers = response.headers
            location = response.extensions.get(_LOCATION)
            if location is not None:
                headers = headers.copy()
                headers["Location"] = location
            return response, content, headers

        try:
            return await wait_at_most(exchange(), deadline)
        finally:
            self._idle.put_nowait(client)

    @property
    def is_closed(self) -> bool:
        """Whether every client built so far is closed."""
        return all(client.is_closed for client in self.clients)

    async def aclose(self) -> None:
        """Close every client of the pool."""
        for client in self.clients:
            await client.aclose()


#: The pools shared by the async hooks of each event loop, by :func:`pool_key`. Building an
#: ``httpx.AsyncClient`` loads the CA bundle (about 15 ms of CPU on the event loop, plus memory);
#: with hundreds of triggers each building its own, that alone stalls the triggerer. A pool
#: counts the hooks using it and is closed and dropped when the last one calls
#: :meth:`~fivetran_provider.hooks.FivetranAsyncHook.aclose`.
shared_pools: dict[PoolKey, AsyncClientPool] = {}


def pool_key(settings: ClientSettings) -> PoolKey:
    """Which shared pool hooks with these settings use on the running event loop.

    The credentials enter the key only as a SHA-256 digest. The retry policy does not enter it:
    retries happen in the hook, not in the clients.

    :param settings: the hook's resolved settings.
    """
    digest = hashlib.sha256(f"{settings.api_key}\0{settings.api_secret}".encode()).hexdigest()
    return (
        asyncio.get_running_loop(),
        settings.base_url,
        digest,
        settings.connect_timeout,
        settings.read_timeout,
    )


def borrow_pool(settings: ClientSettings) -> tuple[PoolKey, AsyncClientPool]:
    """Take a share of the running loop's pool for these settings, creating it if need be.

    Does not await, so two hooks borrowing at once cannot create two pools for one key.

    :param settings: the hook's resolved settings.
    :return: the pool's registry key (to release it with) and the pool.
    """
    key = pool_key(settings)
    pool = shared_pools.get(key)
    if pool is None:
        # Forget the pools of event loops that ended without their hooks being closed: their
        # clients cannot be used (nor closed) any more, and the registry must not grow forever.
        for stale in [other for other in shared_pools if other[0].is_closed()]:
            del shared_pools[stale]
        pool = shared_pools[key] = AsyncClientPool(settings)
    pool.users += 1
    return key, pool


async def release_pool(key: PoolKey, pool: AsyncClientPool) -> None:
    """Give back a share taken with :func:`borrow_pool`; the last one out closes the pool.

    :param key: the registry key :func:`borrow_pool` returned.
    :param pool: the pool it returned.
    """
    pool.users -= 1
    if pool.users > 0:
        return
    if shared_pools.get(key) is pool:
        del shared_pools[key]
    await pool.aclose()
