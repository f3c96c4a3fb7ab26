"""Running a simulated server on its own thread and event loop (the demo, CLI tests), so
its timing is not disturbed by the loop of the client it serves."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading


class ThreadRunner:
    """Mixin for a server with `async start() -> str` and `async stop()`."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    async def start(self) -> str:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    def start_in_thread(self) -> str:
        """Serve from a daemon thread with its own event loop; returns the base URL."""
        ready: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve_in_thread(ready)),
            name="sim-server",
            daemon=True,
        )
        self._thread.start()
        return ready.result(timeout=10)

    def stop_thread(self) -> None:
        if self._thread_loop is not None and self._thread_stop is not None:
            self._thread_loop.call_soon_threadsafe(self._thread_stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = self._thread_loop = self._thread_stop = None

    async def _serve_in_thread(self, ready: concurrent.futures.Future[str]) -> None:
        try:
            self._thread_loop = asyncio.get_running_loop()
            self._thread_stop = asyncio.Event()
            ready.set_result(await self.start())
        except BaseException as exc:
            ready.set_exception(exc)
            raise
        await self._thread_stop.wait()
        await self.stop()
