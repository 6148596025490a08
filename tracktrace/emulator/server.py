"""The loopback server for the emulated systems, and the faults it can be told to inject.

Faults: "500"/"503" (server error), "429" (with Retry-After), "401"/"403", "hang" (answer only
after the client's timeout), "drop" (close the connection without an answer). `landed` says
whether the request is carried out before the fault hits, which is what makes retries dangerous.
"""

import contextlib
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

from tracktrace.emulator.biotrack import BioTrackLegacy, BioTrackV3
from tracktrace.emulator.http import Answer, Reply, Request, text
from tracktrace.emulator.metrc import RATE_LIMITED, Metrc
from tracktrace.emulator.world import Logged, World

log = logging.getLogger("pistil.emulator")


class System(Protocol):
    """An emulated state system: it names the license a request is for, and answers it."""

    def license_of(self, request: Request) -> str | None: ...

    def handle(self, request: Request) -> Reply: ...


@dataclass
class Fault:
    """A failure to inject into requests whose "METHOD /path" starts with `match`."""

    mode: str
    match: str = ""
    times: int | None = 1
    retry_after: int | None = None
    hang_seconds: float = 5.0
    landed: bool = False


class Emulator:
    """Metrc v2 and BioTrack (V3 and legacy) on one loopback port, with fault injection."""

    def __init__(self, world: World | None = None, host: str = "127.0.0.1", port: int = 0):
        self.world = world or World()
        self.faults: list[Fault] = []
        self.faults_lock = threading.Lock()
        self.stopping = threading.Event()
        self.systems: dict[str, System] = {
            "metrc": Metrc(self.world),
            "biotrack": BioTrackV3(self.world),
            "legacy": BioTrackLegacy(self.world),
        }
        self.server = ThreadingHTTPServer((host, port), self._handler_class())
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def legacy_url(self) -> str:
        return f"{self.url}/serverjson.asp"

    def start(self) -> "Emulator":
        """Serve in a background thread."""
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any hanging request."""
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail(self, mode: str, **options) -> Fault:
        """Inject a fault (see the module's docstring); returns it so a test can clear it."""
        fault = Fault(mode=mode, **options)
        with self.faults_lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.faults_lock:
            self.faults.clear()

    def take_fault(self, request: Request) -> Fault | None:
        line = f"{request.method} {request.path}"
        with self.faults_lock:
            for fault in self.faults:
                if line.startswith(fault.match):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def system_for(self, path: str) -> str:
        if path.startswith("/serverjson.asp"):
            return "legacy"
        if path.startswith("/v1/") or path.startswith("/heartbeat"):
            return "biotrack"
        return "metrc"

    def dispatch(self, request: Request, logged: Logged) -> Reply | None:
        """Answer a request, or None to drop the connection."""
        system = self.systems[logged.system]
        fault = self.take_fault(request)
        if fault is not None:
            logged.fault = fault.mode
        if fault is None or fault.landed:
            try:
                reply = system.handle(request)
            except Answer as answer:
                reply = answer.reply
        if fault is None:
            return reply
        if fault.mode == "drop":
            return None
        if fault.mode == "hang":
            self.stopping.wait(fault.hang_seconds)
            return reply if fault.landed else Reply(503, {"Message": "Service Unavailable"})
        return self.fault_reply(fault, logged.system)

    def fault_reply(self, fault: Fault, system: str) -> Reply:
        if fault.mode == "429":
            headers = (
                {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            )
            return Reply(429, RATE_LIMITED, headers, "text/plain")
        if fault.mode in ("401", "403"):
            status = int(fault.mode)
            if system == "metrc":
                return text(status, "The provided API key is only valid for V1 API endpoints.")
            return Reply(status, {"Error": "Unauthorized."})
        status = int(fault.mode)
        if system == "metrc":
            return Reply(status, {"Message": "An error has occurred."})
        return Reply(status, {"Error": "Internal server error."})

    def _handler_class(self):
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002
                log.debug(format, *args)

            def handle_any(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    raw=self.rfile.read(length) if length else b"",
                )
                system = emulator.system_for(parts.path)
                license = emulator.systems[system].license_of(request)
                logged = Logged(system, request.method, parts.path, license, time.monotonic())
                logged.query = request.query
                try:
                    logged.body = request.json() if request.raw else None
                except ValueError:
                    logged.body = request.raw
                key = license or "-"
                world = emulator.world
                with world.lock:
                    world.log.append(logged)
                    world.in_flight[key] = world.in_flight.get(key, 0) + 1
                    world.max_in_flight[key] = max(
                        world.max_in_flight.get(key, 0), world.in_flight[key]
                    )
                try:
                    reply = emulator.dispatch(request, logged)
                finally:
                    with world.lock:
                        world.in_flight[key] -= 1
                        logged.finished = time.monotonic()
                if reply is None:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                logged.status = reply.status
                payload = reply.payload()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    # The client gave up (a hang past its timeout): nothing to answer.
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

        return Handler


def describe(world: World) -> str:
    """Return a short JSON summary of the emulated facilities, for the CLI."""
    with world.lock:
        rows = {
            license: {
                "system": f.system,
                "packages": len(f.packages),
                "receipts": len(f.receipts),
                "sales": len(f.sales),
            }
            for license, f in world.facilities.items()
        }
    return json.dumps(rows, indent=2)
