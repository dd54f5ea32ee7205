"""A Hub-compatible file server for tests, on 127.0.0.1 (HF_ENDPOINT points at it).

Answers HEAD and GET on /{org}/{name}/resolve/{revision}/{filename} with the
headers huggingface_hub's downloader reads (X-Repo-Commit, ETag,
Content-Length); a branch name ("main") resolves to its commit. Every other
path is a 404, as huggingface_hub also probes unrelated /api/ paths.
Uploads (for the publish round-trip) are not served here.
"""
from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


class HubState:
    def __init__(self) -> None:
        self.files: dict[tuple[str, str], dict[str, bytes]] = {}  # (repo_id, commit) -> {filename: bytes}
        self.branches: dict[tuple[str, str], str] = {}  # (repo_id, branch) -> commit
        self.requests: list[str] = []

    def add(self, repo_id: str, commit: str, files: dict[str, bytes], branch: str | None = "main") -> None:
        self.files[(repo_id, commit)] = dict(files)
        if branch:
            self.branches[(repo_id, branch)] = commit


def _handler(state: HubState):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def _lookup(self):
            parts = unquote(self.path.split("?")[0]).strip("/").split("/")
            if len(parts) < 5 or parts[2] != "resolve":
                return None
            repo_id, revision, filename = f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:])
            commit = state.branches.get((repo_id, revision), revision)
            body = state.files.get((repo_id, commit), {}).get(filename)
            return (commit, body) if body is not None else None

        def _respond(self, with_body: bool) -> None:
            state.requests.append(f"{self.command} {self.path}")
            found = self._lookup()
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            commit, body = found
            self.send_response(200)
            self.send_header("X-Repo-Commit", commit)
            self.send_header("ETag", '"' + hashlib.sha256(body).hexdigest() + '"')
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_HEAD(self):
            self._respond(False)

        def do_GET(self):
            self._respond(True)

    return Handler


class HubServer:
    """Context manager: `with HubServer() as hub: hub.state.add(...); hub.url`."""

    def __init__(self) -> None:
        self.state = HubState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "HubServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
