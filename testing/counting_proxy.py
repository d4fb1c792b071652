"""A loopback HTTP proxy that counts the requests a client sends to a server, and can delay or fail chosen ones.

Transparent for timing as far as it can be: one thread per client connection (requests in
flight at once stay in flight at once), TCP_NODELAY on both sides (its own response is two
writes, headers then body, which Nagle's algorithm would hold back until the client's delayed
ACK, about 40 ms a request on Linux), and one upstream connection per client connection, kept
alive as the client keeps its own: the server sees the connections a direct client would open,
so whatever it costs per connection (or per kept-alive request) shows in the bench as it would
without the proxy.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class Fault(NamedTuple):
    """What to do to the requests ``matches`` picks (method, path with query, body): delay them, then fail them or not."""

    matches: Callable[[str, str, bytes], bool]
    delay: float = 0.0
    status: int | None = None  # answer this instead of forwarding
    times: int | None = None  # how many requests it applies to (None: all)


class CountingProxy:
    def __init__(self, target_port: int) -> None:
        self.count = 0
        self.faults: list[Fault] = []
        self.applied: list[tuple[str, str]] = []  # (method, path) of every request a fault touched
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            upstream: http.client.HTTPConnection | None = None

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _connect(self) -> http.client.HTTPConnection:
                upstream = http.client.HTTPConnection("127.0.0.1", target_port, timeout=120)
                upstream.connect()
                assert upstream.sock is not None
                upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return upstream

            def _exchange(self, body: bytes | None, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
                reused = self.upstream is not None
                if self.upstream is None:
                    self.upstream = self._connect()
                try:
                    self.upstream.request(self.command, self.path, body=body, headers=headers)
                    response = self.upstream.getresponse()
                    data = response.read()
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    # The server closed the kept-alive connection (its keep-alive timeout) before
                    # reading the request: send it again on a new one, as urllib3 does.
                    self.upstream.close()
                    self.upstream = None
                    if not reused:
                        raise
                    return self._exchange(body, headers)
                if response.will_close:
                    self.upstream.close()
                    self.upstream = None
                return response.status, response.getheaders(), data

            def _forward(self) -> None:
                with proxy._lock:
                    proxy.count += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy._fault_for(self.command, self.path, body or b"")
                if fault is not None:
                    time.sleep(fault.delay)
                    if fault.status is not None:
                        data = b'{"error_code": "INTERNAL_ERROR", "message": "injected by the test proxy"}'
                        self.send_response(fault.status)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                headers = {key: value for key, value in self.headers.items() if key.lower() not in HOP_BY_HOP}
                status, response_headers, data = self._exchange(body, headers)
                self.send_response(status)
                for key, value in response_headers:
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def finish(self) -> None:
                if self.upstream is not None:
                    self.upstream.close()
                super().finish()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _fault_for(self, method: str, path: str, body: bytes) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self.faults):
                if fault.matches(method, path, body):
                    if fault.times is not None:
                        self.faults[index] = fault._replace(times=fault.times - 1)
                        if fault.times <= 1:
                            self.faults.pop(index)
                    self.applied.append((method, path))
                    return fault
        return None

    def take(self) -> int:
        with self._lock:
            count, self.count = self.count, 0
        return count

    def close(self) -> None:
        self.server.shutdown()
