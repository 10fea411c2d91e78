"""A thin adapter over the Docker SDK (``docker`` package): engine, images, one container.

Everything a caller needs to run the Stalwart container, and nothing else: detect the engine
(which socket, its version, whether it answers), pull an image with a progress callback, and
create / start / inspect / stop / restart / remove a container and read its logs.

Foreign errors never leave this module. ``docker.errors.*`` and ``requests`` exceptions become
``errors.py`` types with a message a person can act on:

* engine not reachable (no socket, connection refused)  -> ``DependencyMissing``
* pull failed (unknown image, no network, auth)         -> ``MailHostError``
* host port already in use                              -> ``MailHostError`` (code port_in_use)
* container name already taken                          -> ``Conflict``
* no such container                                     -> ``NotFound``
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests

from ..errors import AgenticMailError, Conflict, DependencyMissing, MailHostError, NotFound

ENGINE_HINT = ("start Docker (Docker Desktop, or: sudo systemctl start docker), "
               "or use the local mail host: agenticmail setup --mail-host local")
DEFAULT_TIMEOUT = 60
# where engines usually listen when DOCKER_HOST is not set
SOCKET_CANDIDATES = (
    "/var/run/docker.sock",
    "~/.docker/run/docker.sock",           # Docker Desktop (macOS)
    "~/.colima/default/docker.sock",       # colima
    "$XDG_RUNTIME_DIR/docker.sock",        # rootless Docker
)
_PORT_IN_USE = re.compile(
    r"(port is already allocated|address already in use|ports are not available)", re.I)
_PORT_NUMBER = re.compile(r"(?:Bind for |listen tcp4? )?(?:[\d.]+|\[::\]):(\d+)")


@dataclass(frozen=True)
class EngineInfo:
    url: str
    version: str
    api_version: str
    os: str


@dataclass(frozen=True)
class PullProgress:
    """One line of the pull stream: ``status`` per layer, bytes done/total when known."""

    status: str
    layer: str | None = None
    current: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    environment: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[int, tuple[str, int]] = field(default_factory=dict)  # container -> host
    binds: Mapping[str, str] = field(default_factory=dict)  # host path -> container path
    labels: Mapping[str, str] = field(default_factory=dict)
    restart_policy: str = "unless-stopped"

    def __repr__(self) -> str:  # the environment can hold a credential
        return f"ContainerSpec(name={self.name!r}, image={self.image!r}, ports={self.ports!r})"


@dataclass(frozen=True)
class ContainerState:
    id: str
    name: str
    image: str
    status: str  # created | running | paused | restarting | exited | dead
    running: bool
    exit_code: int | None
    labels: dict[str, str]
    env_names: frozenset[str]
    ports: dict[int, tuple[str, int]]
    binds: dict[str, str]


def resolve_url(explicit: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """The engine URL: ``explicit``, ``DOCKER_HOST``, else the first socket that exists."""
    env = os.environ if env is None else env
    if explicit:
        return explicit
    if env.get("DOCKER_HOST"):
        return env["DOCKER_HOST"]
    for cand in SOCKET_CANDIDATES:
        path = Path(os.path.expandvars(os.path.expanduser(cand)))
        if "$" not in str(path) and path.exists():
            return f"unix://{path}"
    return None


def _explain(exc: BaseException) -> str:
    if isinstance(exc, docker.errors.APIError):
        return str(exc.explanation or exc).strip()
    return " ".join(str(exc).split())


def _engine_reason(exc: BaseException) -> str:
    """Why the engine could not be reached, in a few words."""
    text = _explain(exc)
    for needle, reason in (("No such file or directory", "no socket there"),
                           ("Connection refused", "connection refused"),
                           ("Permission denied", "permission denied: is your user in the "
                                                 "docker group?"),
                           ("timed out", "timed out")):
        if needle in text:
            return reason
    return text


def _port_in(text: str) -> str | None:
    match = _PORT_NUMBER.search(text)
    return match[1] if match else None


class DockerEngine:
    """One connection to a Docker engine. Every method raises only ``errors.py`` types."""

    def __init__(self, url: str | None = None, *, timeout: int = DEFAULT_TIMEOUT) -> None:
        self.url = resolve_url(url)
        self._timeout = timeout
        self._client: docker.DockerClient | None = None

    # -- connection ---------------------------------------------------------------------
    def _api(self) -> Any:
        if self._client is None:
            if self.url is None:
                raise DependencyMissing("no Docker engine found (no DOCKER_HOST and no "
                                        "docker.sock)", hint=ENGINE_HINT)
            try:
                self._client = docker.DockerClient(base_url=self.url, timeout=self._timeout)
            except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
                raise DependencyMissing(
                    f"the Docker engine at {self.url} is not answering ({_engine_reason(exc)})",
                    hint=ENGINE_HINT) from exc
        return self._client.api

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    @contextlib.contextmanager
    def _errors(self, doing: str, name: str | None = None) -> Iterator[None]:
        try:
            yield
        except AgenticMailError:
            raise
        except docker.errors.NotFound as exc:
            raise NotFound(f"{doing}: {_explain(exc)}") from exc
        except docker.errors.APIError as exc:
            text = _explain(exc)
            status = exc.response.status_code if exc.response is not None else None
            if _PORT_IN_USE.search(text):
                port = _port_in(text)
                raise MailHostError(
                    f"{doing}: port {port or '?'} on 127.0.0.1 is already in use by another "
                    "program", code="port_in_use",
                    hint="stop that program, or choose other ports in config.toml") from exc
            if status == 409:
                raise Conflict(f"{doing}: {text}") from exc
            raise MailHostError(f"{doing}: the Docker engine said: {text}") from exc
        except (requests.exceptions.ConnectionError, docker.errors.DockerException) as exc:
            self.close()
            raise DependencyMissing(f"{doing}: the Docker engine at {self.url} is not "
                                    f"answering ({_engine_reason(exc)})", hint=ENGINE_HINT
                                    ) from exc
        except requests.exceptions.RequestException as exc:
            raise MailHostError(f"{doing}: {_explain(exc)}") from exc

    # -- engine -------------------------------------------------------------------------
    def info(self) -> EngineInfo:
        """Engine version; DependencyMissing if there is no engine or it does not answer."""
        with self._errors("checking the Docker engine"):
            api = self._api()
            api.ping()
            ver = api.version()
        return EngineInfo(self.url or "", str(ver.get("Version", "?")),
                          str(ver.get("ApiVersion", "?")), str(ver.get("Os", "?")))

    def available(self) -> bool:
        try:
            self.info()
        except AgenticMailError:
            return False
        return True

    # -- images -------------------------------------------------------------------------
    def has_image(self, ref: str) -> bool:
        with self._errors(f"looking up the image {ref}"):
            try:
                self._api().inspect_image(ref)
            except docker.errors.ImageNotFound:
                return False
            except docker.errors.NotFound:
                return False
        return True

    def pull(self, ref: str, progress: Callable[[PullProgress], None] | None = None) -> None:
        """Pull ``repo:tag``; ``progress`` sees each line of the engine's progress stream."""
        repo, _, tag = ref.rpartition(":")
        if not repo or "/" in tag:
            raise MailHostError(f"refusing to pull {ref!r}: the image needs an explicit tag")
        doing = f"pulling {ref}"
        with self._errors(doing):
            for line in self._api().pull(repo, tag=tag, stream=True, decode=True):
                if not isinstance(line, dict):
                    continue
                if line.get("error") or line.get("errorDetail"):
                    detail = (line.get("errorDetail") or {}).get("message") or line.get("error")
                    raise MailHostError(f"{doing} failed: {detail}",
                                        hint="check the network and the image name, then retry")
                if progress is not None:
                    pd = line.get("progressDetail") or {}
                    progress(PullProgress(str(line.get("status", "")), line.get("id"),
                                          pd.get("current"), pd.get("total")))
        if not self.has_image(ref):
            raise MailHostError(f"{doing} ended but the engine does not have the image")

    # -- containers ---------------------------------------------------------------------
    def inspect(self, name: str) -> ContainerState | None:
        """The container's state, or None if there is no such container."""
        with self._errors(f"inspecting the container {name}"):
            try:
                data = self._api().inspect_container(name)
            except docker.errors.NotFound:
                return None
        state = data.get("State") or {}
        config = data.get("Config") or {}
        ports: dict[int, tuple[str, int]] = {}
        for key, bindings in ((data.get("HostConfig") or {}).get("PortBindings") or {}).items():
            for b in bindings or []:
                ports[int(str(key).split("/")[0])] = (b.get("HostIp", ""), int(b["HostPort"]))
        binds: dict[str, str] = {}
        for bind in (data.get("HostConfig") or {}).get("Binds") or []:
            host, _, rest = str(bind).partition(":")
            binds[host] = rest.split(":")[0]
        return ContainerState(
            id=str(data.get("Id", "")), name=str(data.get("Name", name)).lstrip("/"),
            image=str(config.get("Image", "")), status=str(state.get("Status", "unknown")),
            running=bool(state.get("Running")), exit_code=state.get("ExitCode"),
            labels=dict(config.get("Labels") or {}),
            env_names=frozenset(e.partition("=")[0] for e in config.get("Env") or []),
            ports=ports, binds=binds)

    def create(self, spec: ContainerSpec) -> str:
        """Create (not start) the container; its id. Conflict if the name is taken."""
        with self._errors(f"creating the container {spec.name}"):
            api = self._api()
            host_config = api.create_host_config(
                port_bindings={f"{c}/tcp": [h] for c, h in spec.ports.items()},
                binds={h: {"bind": c, "mode": "rw"} for h, c in spec.binds.items()},
                restart_policy={"Name": spec.restart_policy},
            )
            created = api.create_container(
                spec.image, name=spec.name, detach=True,
                environment=dict(spec.environment), labels=dict(spec.labels),
                ports=[(c, "tcp") for c in spec.ports], volumes=list(spec.binds.values()),
                host_config=host_config,
            )
        return str(created["Id"])

    def start(self, name: str) -> None:
        with self._errors(f"starting the container {name}"):
            self._api().start(name)

    def stop(self, name: str, timeout: int = 10) -> None:
        """Stop; no error if it is already stopped or does not exist."""
        with self._errors(f"stopping the container {name}"):
            try:
                self._api().stop(name, timeout=timeout)
            except docker.errors.NotFound:
                return

    def restart(self, name: str, timeout: int = 10) -> None:
        with self._errors(f"restarting the container {name}"):
            self._api().restart(name, timeout=timeout)

    def remove(self, name: str, *, force: bool = True) -> None:
        """Remove the container (its bind-mounted data stays); no error if it is gone."""
        with self._errors(f"removing the container {name}"):
            try:
                self._api().remove_container(name, force=force)
            except docker.errors.NotFound:
                return

    def logs(self, name: str, tail: int = 40) -> str:
        """The last ``tail`` lines of the container's output ('' if there is none)."""
        try:
            with self._errors(f"reading the logs of {name}"):
                raw = self._api().logs(name, stdout=True, stderr=True, tail=tail)
        except (NotFound, MailHostError):
            return ""
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
