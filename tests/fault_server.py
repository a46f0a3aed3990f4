"""A small HTTP server on 127.0.0.1 that answers from a script, to test the upstream
client against real sockets: slow answers, dropped connections, 429s, 5xx, HTML and
malformed bodies. Each request takes the next scripted answer (the last one repeats)
and is recorded.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    status: int = 200
    body: object = None  # JSON-encoded unless bytes or str
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0  # seconds before answering
    drop: bool = False  # close the connection without answering
    after_delay_drop: bool = False  # wait `delay`, then drop


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class FaultServer:
    def __init__(self, answers: list[Answer] | None = None):
        self.answers = list(answers or [Answer()])
        self.received: list[Received] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                with server._lock:
                    server.received.append(
                        Received(
                            self.command,
                            parts.path,
                            parse_qs(parts.query),
                            dict(self.headers),
                            body,
                        )
                    )
                    answer = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop or answer.after_delay_drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                payload = answer.body
                if isinstance(payload, str):
                    payload = payload.encode()
                elif not isinstance(payload, bytes):
                    payload = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing to tell it

            do_GET = do_POST = do_PATCH = _handle

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self.answers = list(answers)
            self.received.clear()

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
