"""Headless Chromium (the Debian package) driven over the DevTools protocol, for page tests.

No browser download and no Node: the system binary, a fresh empty profile in a temp dir, a
debugging port the browser picks itself (read back from DevToolsActivePort), and a small
CDP client on `websockets`. It records console errors, uncaught exceptions and failed
loads, so a test can assert a page loads clean.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1")


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


# Every connection that is not to loopback goes to a closed port on 127.0.0.1 (Chromium never
# proxies loopback), and no host name but 127.0.0.1 resolves: a page as it is with no network.
NETWORK_CLOSED = ("--proxy-server=127.0.0.1:9",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")


class Chromium:
    def __init__(self, binary: str, flags: tuple[str, ...] = ()) -> None:
        self.binary = binary
        self.flags = flags
        self.profile = Path(tempfile.mkdtemp(prefix="factorwatch-chromium-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> str:
        """Start the browser; returns its DevTools websocket URL."""
        self.proc = subprocess.Popen([self.binary, *FLAGS, *self.flags,
                                      f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        active = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}")
            if active.exists():
                lines = active.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """One tab, attached with a flat session: send commands, keep the problems it reports."""

    def __init__(self, ws: Any, session: str) -> None:
        self._ws, self._session = ws, session
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: dict[str, asyncio.Event] = {}
        self.problems: list[str] = []  # console errors, exceptions, failed loads
        self.requests: list[str] = []  # the URL of every request the page made
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, ws_url: str) -> Page:
        ws = await websockets.connect(ws_url, max_size=64 * 1024 * 1024)
        await ws.send(json.dumps({"id": 0, "method": "Target.createTarget",
                                  "params": {"url": "about:blank"}}))
        target = json.loads(await ws.recv())["result"]["targetId"]
        await ws.send(json.dumps({"id": 0, "method": "Target.attachToTarget",
                                  "params": {"targetId": target, "flatten": True}}))
        while True:  # the attachedToTarget event and the reply, in either order
            msg = json.loads(await ws.recv())
            if "result" in msg and "sessionId" in msg["result"]:
                page = cls(ws, msg["result"]["sessionId"])
                break
        for domain in ("Page", "Runtime", "Log", "Network"):
            await page.send(f"{domain}.enable")
        return page

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        msg_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = future
        await self._ws.send(json.dumps({"id": msg_id, "sessionId": self._session,
                                        "method": method, "params": params or {}}))
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    async def _read(self) -> None:
        async for raw in self._ws:
            msg = json.loads(raw)
            if "id" in msg and msg["id"] in self._waiting:
                self._waiting.pop(msg["id"]).set_result(msg)
            elif "method" in msg:
                self._note(msg["method"], msg.get("params", {}))

    def _note(self, method: str, p: dict[str, Any]) -> None:
        self._events.setdefault(method, asyncio.Event()).set()
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.problems.append(f"console.{p['type']}: {p.get('args')}")
        elif method == "Runtime.exceptionThrown":
            self.problems.append(f"exception: {p['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.problems.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Network.loadingFailed" and not p.get("canceled"):
            self.problems.append(f"load failed: {p.get('errorText')}")

    async def goto(self, url: str, timeout: float = 30) -> None:
        loaded = self._events.setdefault("Page.loadEventFired", asyncio.Event())
        loaded.clear()
        await self.send("Page.navigate", {"url": url})
        await asyncio.wait_for(loaded.wait(), timeout)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression,
                                                      "returnByValue": True})
        return result["result"].get("value")

    async def screenshot(self, path: Path, width: int, height: int, mobile: bool,
                         full_page: bool = True) -> None:
        await self.send("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        metrics = await self.send("Page.getLayoutMetrics")
        full = max(height, int(metrics["cssContentSize"]["height"])) if full_page else height
        shot = await self.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": full, "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()
