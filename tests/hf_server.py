"""A Hub-compatible file server for tests, on 127.0.0.1 (HF_ENDPOINT points at it).

Downloads: HEAD and GET on /{org}/{name}/resolve/{revision}/{filename} with the
headers huggingface_hub's downloader reads (X-Repo-Commit, ETag,
Content-Length); a branch name ("main") resolves to its commit.
Uploads (the publish round-trip), as `HfApi.create_commit` speaks them:
POST /api/repos/create, /api/validate-yaml, /api/models/{repo}/branch/{b},
/api/models/{repo}/preupload/{rev} (every file "regular", i.e. inlined) and
/api/models/{repo}/commit/{rev} (NDJSON: a header line, then base64 file lines),
which makes a new commit on the branch. Every other path is a 404, as
huggingface_hub also probes unrelated /api/ paths.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


class HubState:
    def __init__(self) -> None:
        self.files: dict[tuple[str, str], dict[str, bytes]] = {}  # (repo_id, commit) -> {filename: bytes}
        self.branches: dict[tuple[str, str], str] = {}  # (repo_id, branch) -> commit
        self.requests: list[str] = []
        self.repos: set[str] = set()
        self.commits: list[dict] = []  # every upload commit: repo_id, commit, branch, header, paths

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

        def _json(self, code: int, payload) -> None:
            body = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            state.requests.append(f"POST {self.path}")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = unquote(self.path.split("?")[0]).strip("/").split("/")
            if parts[:3] == ["api", "repos", "create"]:
                req = json.loads(body)
                repo_id = (
                    f"{req.get('organization') or 'user'}/{req['name']}"
                    if "/" not in req["name"]
                    else req["name"]
                )
                state.repos.add(repo_id)
                return self._json(200, {"url": f"http://127.0.0.1/{repo_id}", "name": repo_id})
            if parts[:2] == ["api", "validate-yaml"]:
                return self._json(200, {"errors": [], "warnings": []})
            if len(parts) >= 6 and parts[:2] == ["api", "models"]:
                repo_id, verb, rev = f"{parts[2]}/{parts[3]}", parts[4], "/".join(parts[5:])
                if repo_id not in state.repos:
                    return self._json(404, {"error": "Repository not found"})
                if verb == "branch":
                    state.branches.setdefault((repo_id, rev), state.branches.get((repo_id, "main"), ""))
                    return self._json(200, {})
                if verb == "preupload":
                    files = json.loads(body)["files"]
                    return self._json(
                        200,
                        {
                            "files": [
                                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                for f in files
                            ]
                        },
                    )
                if verb == "commit":
                    return self._commit(repo_id, rev, body)
            return self._json(404, {"error": "not found"})

        def _commit(self, repo_id: str, branch: str, body: bytes) -> None:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            parent = state.branches.get((repo_id, branch), "")
            files = dict(state.files.get((repo_id, parent), {}))
            for line in lines:
                if line["key"] == "file":
                    files[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
            commit = hashlib.sha1(parent.encode() + body).hexdigest()
            state.add(repo_id, commit, files, branch=branch)
            state.commits.append(
                {
                    "repo_id": repo_id,
                    "commit": commit,
                    "branch": branch,
                    "header": lines[0]["value"],
                    "paths": sorted(files),
                }
            )
            return self._json(
                200,
                {
                    "commitUrl": f"http://127.0.0.1/{repo_id}/commit/{commit}",
                    "commitOid": commit,
                    "pullRequestUrl": None,
                },
            )

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
