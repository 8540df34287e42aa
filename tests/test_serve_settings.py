"""`motcua serve` applies its HTTP settings: an idle client connection is closed after
MOTCUA_HTTP_KEEP_ALIVE_SECONDS (uvicorn's own default, 5 s, is shorter than a load balancer's idle timeout)."""

import socket
import time

from tests.conftest import new_database
from tests.processes import ServerProcess

KEY = "mc_serve_settings_0123456789abcdef"
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"


def _answer(conn: socket.socket) -> bytes:
    """Sends one request and reads exactly its answer (headers, then Content-Length bytes of body)."""
    conn.sendall(REQUEST)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        assert chunk, "the server closed the connection"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += conn.recv(4096)
    return head


def _seconds_until_closed(conn: socket.socket, limit: float) -> float:
    began = time.monotonic()
    conn.settimeout(limit)
    try:
        assert conn.recv(1) == b""  # nothing more is sent: the next thing is the close
    except TimeoutError:
        return limit
    return time.monotonic() - began


def test_an_idle_connection_lives_as_long_as_the_keep_alive_setting(tmp_path):
    server = ServerProcess(new_database("sqlite", tmp_path), tmp_path, KEY, MOTCUA_HTTP_KEEP_ALIVE_SECONDS="1")
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            assert _answer(conn).startswith(b"HTTP/1.1 200")
            time.sleep(0.3)
            assert _answer(conn).startswith(b"HTTP/1.1 200")  # still open: kept alive
            assert _seconds_until_closed(conn, limit=10) < 3.5  # closed after ~1 s; uvicorn's default is 5 s
    finally:
        server.stop()
