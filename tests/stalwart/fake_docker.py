"""A fake Docker Engine API on a unix socket: the documented endpoints the docker SDK calls.

``GET /_ping``, ``GET /version``, ``GET /images/{name}/json``, ``POST /images/create`` (a
chunked stream of progress JSON, errors in-stream or as a status), ``POST /containers/create``
(409 on a name clash), ``POST /containers/{id}/start|stop|restart``, ``GET
/containers/{id}/json``, ``GET /containers/{id}/logs`` (multiplexed frames), ``DELETE
/containers/{id}``. Paths may carry the ``/v1.NN`` prefix. Point the SDK at it with
``unix://<socket>``.

Starting a ``stalwartlabs/stalwart`` container starts a :class:`FakeStalwart` on the host port
published for 8080 (and its IMAP stand-in on the one for 143); the other published ports are
held open like docker-proxy would, so "port already in use" is real. The fake server's
objects live with the container's ``/var/lib/stalwart`` bind, so they survive a recreate.

Knobs for failure tests: ``pull_error`` (status error), ``pull_stream_error`` (error inside
the stream), ``never_ready`` (``/healthz/ready`` stays 503).
"""

from __future__ import annotations

import json
import re
import socket
import socketserver
import struct
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .fake_stalwart import FakeStalwart, port_is_free


class FakeContainer:
    def __init__(self, name: str, body: dict[str, Any]) -> None:
        self.id = uuid.uuid4().hex + uuid.uuid4().hex
        self.name = name
        self.body = body
        self.running = False
        self.status = "created"
        self.exit_code = 0
        self.log: list[str] = []
        self.fake: FakeStalwart | None = None
        self.held: list[socket.socket] = []

    @property
    def env(self) -> dict[str, str]:
        return dict(e.split("=", 1) for e in self.body.get("Env") or [])

    @property
    def binds(self) -> dict[str, str]:
        out = {}
        for bind in (self.body.get("HostConfig") or {}).get("Binds") or []:
            host, container = bind.split(":")[:2]
            out[container] = host
        return out

    @property
    def port_bindings(self) -> dict[int, int]:
        out = {}
        for key, bindings in ((self.body.get("HostConfig") or {}).get("PortBindings")
                              or {}).items():
            out[int(key.split("/")[0])] = int(bindings[0]["HostPort"])
        return out

    def inspect(self) -> dict[str, Any]:
        return {
            "Id": self.id, "Name": "/" + self.name,
            "State": {"Status": self.status, "Running": self.running,
                      "ExitCode": self.exit_code},
            "Config": {"Image": self.body.get("Image"), "Env": self.body.get("Env") or [],
                       "Labels": self.body.get("Labels") or {}, "Tty": False},
            "HostConfig": self.body.get("HostConfig") or {},
        }


class FakeEngine:
    """The engine's state and behaviour; served by :class:`FakeDockerServer`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.images: set[str] = set()
        self.containers: dict[str, FakeContainer] = {}
        self.registries: dict[str, FakeStalwart] = {}
        self.pull_error: str | None = None
        self.pull_stream_error: str | None = None
        self.never_ready = False
        self.calls: list[str] = []

    def find(self, ref: str) -> FakeContainer | None:
        for c in self.containers.values():
            if ref in (c.id, c.name) or (len(ref) >= 12 and c.id.startswith(ref)):
                return c
        return None

    def start(self, c: FakeContainer) -> tuple[int, dict[str, Any] | None]:
        if c.running:
            return 304, None
        ports = c.port_bindings
        for hport in sorted(ports.values()):
            if not port_is_free(hport):
                return 500, {"message": f"driver failed programming external connectivity on "
                             f"endpoint {c.name} ({c.id[:12]}): Bind for 127.0.0.1:{hport} "
                             "failed: port is already allocated"}
        data_dir = c.binds.get("/var/lib/stalwart", c.id)
        etc = c.binds.get("/etc/stalwart")
        recovery = c.env.get("STALWART_RECOVERY_ADMIN")
        fake = self.registries.get(data_dir)
        if fake is None:
            fake = FakeStalwart(recovery_admin=recovery,
                                config_dir=Path(etc) if etc else None)
            self.registries[data_dir] = fake
        else:
            fake.restart(recovery_admin=recovery)
        fake.ready = not self.never_ready
        fake.start(ports.get(8080, 0), imap_port=ports.get(143))
        for cport, hport in ports.items():
            if cport not in (8080, 143):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", hport))
                sock.listen(8)
                c.held.append(sock)
        c.fake = fake
        c.running, c.status = True, "running"
        mode = "bootstrap" if fake.registry.bootstrap_mode else "normal"
        c.log.append("Starting Stalwart Server v0.16.18")
        c.log.append(f"INFO Server started in {mode} mode")
        if self.never_ready:
            c.log.append("ERROR Failed to open data store: RocksDB lock held")
        return 204, None

    def stop(self, c: FakeContainer) -> int:
        if not c.running:
            return 304
        if c.fake is not None:
            c.fake.stop()
        for sock in c.held:
            sock.close()
        c.held = []
        c.running, c.status, c.exit_code = False, "exited", 0
        c.log.append("INFO Shutting down")
        return 204

    def close(self) -> None:
        for c in list(self.containers.values()):
            self.stop(c)


def _frame(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">BxxxL", 1, len(data)) + data


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeDockerServer

    def log_message(self, *args: Any) -> None:
        pass

    def address_string(self) -> str:
        return "unix"

    def _json(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _raw(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str) -> None:
        engine = self.server.engine
        parts = urlsplit(self.path)
        path = re.sub(r"^/v[\d.]+", "", parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        engine.calls.append(f"{method} {path}")
        with engine.lock:
            self._dispatch(engine, method, path, query, body)

    def _dispatch(self, engine: FakeEngine, method: str, path: str, query: dict[str, str],
                  body: Any) -> None:
        if path == "/_ping":
            self._raw(200, b"OK", "text/plain")
            return
        if path == "/version":
            self._json(200, {"Version": "28.2.2", "ApiVersion": "1.50",
                             "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64"})
            return
        m = re.fullmatch(r"/images/(.+)/json", path)
        if m and method == "GET":
            name = unquote(m[1])
            if name in engine.images:
                self._json(200, {"Id": "sha256:" + "ab" * 32, "RepoTags": [name]})
            else:
                self._json(404, {"message": f"No such image: {name}"})
            return
        if path == "/images/create" and method == "POST":
            self._pull(engine, f"{query.get('fromImage')}:{query.get('tag')}")
            return
        if path == "/containers/create" and method == "POST":
            name = query.get("name", "")
            clash = engine.find(name)
            if clash is not None:
                self._json(409, {"message": f'Conflict. The container name "/{name}" is '
                                 f'already in use by container "{clash.id}". You have to '
                                 "remove (or rename) that container to be able to reuse "
                                 "that name."})
                return
            if body.get("Image") not in engine.images:
                self._json(404, {"message": f"No such image: {body.get('Image')}"})
                return
            new = FakeContainer(name, body)
            engine.containers[new.id] = new
            self._json(201, {"Id": new.id, "Warnings": []})
            return
        m = re.fullmatch(r"/containers/([^/]+)(?:/(\w+))?", path)
        if not m:
            self._json(404, {"message": "page not found"})
            return
        c = engine.find(unquote(m[1]))
        if c is None:
            self._json(404, {"message": f"No such container: {unquote(m[1])}"})
            return
        action = m[2]
        if method == "DELETE" and action is None:
            if c.running and query.get("force") not in ("1", "true", "True"):
                self._json(409, {"message": f"cannot remove container {c.name}: container "
                                 "is running: stop the container before removing or force "
                                 "remove"})
                return
            engine.stop(c)
            del engine.containers[c.id]
            self._json(204)
        elif action == "json":
            self._json(200, c.inspect())
        elif action == "start":
            status, err = engine.start(c)
            self._json(status, err)
        elif action == "stop":
            self._json(engine.stop(c))
        elif action == "restart":
            engine.stop(c)
            status, err = engine.start(c)
            self._json(204 if status == 204 else status, err)
        elif action == "logs":
            tail = query.get("tail", "all")
            lines = c.log if tail == "all" else c.log[-int(tail):]
            self._raw(200, b"".join(_frame(line + "\n") for line in lines),
                      "application/vnd.docker.raw-stream")
        else:
            self._json(404, {"message": "page not found"})

    def _pull(self, engine: FakeEngine, ref: str) -> None:
        if engine.pull_error:
            self._json(500, {"message": engine.pull_error})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        repo, _, tag = ref.rpartition(":")
        lines: list[dict[str, Any]] = [{"status": f"Pulling from {repo}", "id": tag}]
        for layer in ("a1b2c3", "d4e5f6"):
            lines.append({"status": "Pulling fs layer", "id": layer, "progressDetail": {}})
            for done in (1_000_000, 2_000_000):
                lines.append({"status": "Downloading", "id": layer,
                              "progressDetail": {"current": done, "total": 2_000_000},
                              "progress": "[=====>   ]"})
            if engine.pull_stream_error:
                lines.append({"errorDetail": {"message": engine.pull_stream_error},
                              "error": engine.pull_stream_error})
                break
            lines.append({"status": "Pull complete", "id": layer, "progressDetail": {}})
        else:
            lines += [{"status": "Digest: sha256:" + "cd" * 32},
                      {"status": f"Status: Downloaded newer image for {ref}"}]
            engine.images.add(ref)
        for line in lines:
            data = (json.dumps(line) + "\r\n").encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_HEAD(self) -> None:
        self._route("HEAD")


class FakeDockerServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, engine: FakeEngine | None = None) -> None:
        self.engine = engine or FakeEngine()
        self.socket_path = path
        super().__init__(str(path), _Handler)
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> FakeDockerServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.engine.close()
        self.shutdown()
        self.server_close()
        self._thread.join(5)
        self.socket_path.unlink(missing_ok=True)
