"""A webhook receiver on 127.0.0.1 that checks every delivery as an integrator's would.

Its signature check is written here from the published scheme (Standard Webhooks: HMAC-SHA256
of ``id.timestamp.body`` keyed with the base64-decoded part of ``whsec_...``, ``v1,`` +
base64, several space-separated), with hmac/hashlib/base64 only: not the project's signer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from credit import clock

REPLAY_WINDOW_SECONDS = 5 * 60


def expected_signature(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """``v1,`` + base64 HMAC-SHA256(key = base64-decoded secret after ``whsec_``, ``id.timestamp.body``)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, webhook_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verifies(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether any of the delivery's signatures is ``secret``'s."""
    wanted = expected_signature(secret, headers["webhook-id"], headers["webhook-timestamp"], body)
    return any(hmac.compare_digest(wanted, given) for given in headers["webhook-signature"].split(" "))


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: datetime

    @property
    def event(self) -> dict:
        return json.loads(self.body)

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """Answers with ``statuses`` in turn (then ``default``), after ``delay`` seconds; keeps what arrived.

    A delivery is accepted only if it verifies with one of ``secrets`` and its timestamp is
    within 5 minutes of ``now()``; anything else is answered 401 and counted in ``rejected``.
    ``unique`` keeps the first delivery of each webhook-id (what a receiver that deduplicates acts on).
    """

    secrets: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0
    now: Callable[[], datetime] = clock.now
    received: list[Received] = field(default_factory=list)
    rejected: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver._accept(headers, body)
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:  # noqa: ANN002 - quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def _accept(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            problem = self._problem(headers, body)
            if problem:
                self.rejected.append((problem, headers))
                return 401
            self.received.append(Received(headers, body, self.now()))
            return self.statuses.pop(0) if self.statuses else self.default

    def _problem(self, headers: dict[str, str], body: bytes) -> str | None:
        if not {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers.keys():
            return "missing headers"
        sent = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC).replace(tzinfo=None)
        if abs((self.now() - sent).total_seconds()) > REPLAY_WINDOW_SECONDS:
            return f"timestamp {sent} outside the window around {self.now()}"
        if not any(verifies(secret, headers, body) for secret in self.secrets):
            return "no signature verifies"
        if json.loads(body)["id"] != headers["webhook-id"]:
            return "webhook-id is not the event's id"
        return None

    def unique(self) -> list[Received]:
        seen, first = set(), []
        for item in self.received:
            if item.webhook_id not in seen:
                seen.add(item.webhook_id)
                first.append(item)
        return first

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
