"""A LaunchDarkly stand-in that answers the deployment list from exported files, fast.

    python bench/replay_upstream.py DIRECTORY PORT

DIRECTORY holds one `PROJECT__ENVIRONMENT.json` per scope, as `manage.py
export_deployments --project P --environment E` writes it. The server answers
`GET /api/v2/engineering-insights/deployments` with LaunchDarkly's parameters
(`projectKey`, `environmentKey`, `from`, `to`, `limit`, `after`), newest first, with
`totalCount` and a `_links.next` cursor, from documents encoded once at start. It exists
so that a sync benchmark measures the sync, not the upstream: LaunchDarkly's own CPU is
not on this machine, and this project's API (bench/sync.py --upstream api) costs as
much CPU per page as the sync that reads it. It checks no token and no `expand`: it
always sends both expansions, as the sync asks.
"""

from __future__ import annotations

import bisect
import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

PATH = "/api/v2/engineering-insights/deployments"
DEFAULT_WINDOW_MS = 7 * 24 * 3600 * 1000


class Scope:
    """A scope's documents, newest first, each encoded once."""

    def __init__(self, documents: list[dict]):
        documents.sort(key=lambda doc: (doc["startedAt"], doc["id"]), reverse=True)
        self.ids = [doc["id"] for doc in documents]
        self.position = {doc_id: index for index, doc_id in enumerate(self.ids)}
        # Negated start times ascend, so bisect finds a window's ends.
        self.keys = [-doc["startedAt"] for doc in documents]
        self.encoded = [json.dumps(doc).encode() for doc in documents]

    def page(self, *, since: int, until: int, limit: int, after: str | None) -> tuple:
        first = bisect.bisect_left(self.keys, -until)
        end = bisect.bisect_right(self.keys, -since)
        start = first if after is None else max(first, self.position[after] + 1)
        chosen = range(start, min(end, start + limit))
        more = chosen.stop < end
        return (
            end - first,
            [self.encoded[i] for i in chosen],
            self.ids[chosen.stop - 1] if more else None,
        )


def load(directory: Path) -> dict[tuple[str, str], Scope]:
    scopes = {}
    for path in directory.glob("*__*.json"):
        project, environment = path.stem.split("__")
        scopes[(project, environment)] = Scope(json.loads(path.read_text())["items"])
    return scopes


def handler_for(scopes: dict[tuple[str, str], Scope]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as LaunchDarkly's API

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            scope = scopes.get((query.get("projectKey", ""), query.get("environmentKey", "")))
            if parts.path != PATH or scope is None:
                return self._answer(404, b'{"code":"not_found","message":"Unknown resource"}')
            until = int(query.get("to", 2**62))
            since = int(query.get("from", until - DEFAULT_WINDOW_MS))
            limit = int(query.get("limit", 20))
            total, items, last = scope.page(
                since=since, until=until, limit=limit, after=query.get("after")
            )
            links = {"self": {"href": self.path, "type": "application/json"}}
            if last is not None:
                following = urlencode({**query, "after": last})
                links["next"] = {"href": f"{PATH}?{following}", "type": "application/json"}
            body = b"".join(
                (
                    b'{"totalCount":%d,"items":[' % total,
                    b",".join(items),
                    b'],"_links":',
                    json.dumps(links).encode(),
                    b"}",
                )
            )
            self._answer(200, body)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def main() -> None:
    directory, port = Path(sys.argv[1]), int(sys.argv[2])
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(load(directory)))
    server.serve_forever()


if __name__ == "__main__":
    main()
