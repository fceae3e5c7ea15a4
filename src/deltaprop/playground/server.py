"""The playground's HTTP server: the page, a JSON API over :class:`~.session.Run`, a frame stream.

Why the standard library (``http.server``) and not an ASGI framework with uvicorn:
the playground serves one learner on their own machine: a handful of small JSON
requests and one long-lived stream of frames per tab. ``ThreadingHTTPServer`` gives a
thread per connection, which is what the training needs anyway (numpy releases the
GIL in its products; the trainer is synchronous, so an async framework would push it
into a thread pool all the same), server-sent events are plain chunks on an open
HTTP/1.1 response, and the safety checks (Host, Origin, sizes, a fixed table of
assets) are a few explicit lines rather than middleware to configure. It adds no
dependency, so ``pip install deltaprop`` is enough and it works with no network.
The measured rate (``benchmarks/playground_fps.py``) is well above the 20 frames a
second the page needs.

Safety: it listens on 127.0.0.1 unless told otherwise; a request whose Host is not
the address served, or whose Origin is another site, is refused (403): a DNS-rebinding
page cannot reach it. Static files come from a fixed table (``ASSETS``) read from
the package; no path from the client is ever opened. Bodies are size-limited (413
with the limit in words) and every field is checked (``bodies``: a JSON object,
finite bounded numbers, 400 naming the field); a connection silent for ``TIMEOUT``
seconds is dropped, at most ``MAX_CONNECTIONS`` are served at once, and sessions are
bounded and expire (``session.Sessions``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import bodies, experiments
from .config import (
    COST_CHOICES,
    HIDDEN_ACTIVATIONS,
    MAX_HIDDEN_LAYERS,
    MAX_UNITS,
    PLAYGROUND_OPTIMIZERS,
    parse,
)
from .datasets import DATASETS, FEATURE_LABELS, REGRESSION
from .session import Run, Sessions
from .steps import section_json
from .uploads import MAX_UPLOAD_BYTES, choose, read_upload

ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/draw.js": ("draw.js", "text/javascript; charset=utf-8"),
    "/walk.js": ("walk.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/favicon.svg": ("favicon.svg", "image/svg+xml"),
}
"""Every URL a file is served at, and the packaged file it is: nothing else is read."""
MAX_JSON_BYTES = 64_000
TIMEOUT = 30.0
"""Seconds a connection may keep the server waiting for the rest of a request."""
MAX_CONNECTIONS = 64
"""Connections served at once (a thread each); one more is answered 503 and closed."""
FRAME_INTERVAL = 1 / 60
"""Play advances one epoch at most every 1/60 s, so a frame is never wasted."""
PLAY_THREAD = "deltaprop-play"
"""The name of each run's play thread (a test counts them)."""
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class HTTPError(Exception):
    """An error answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


def _asset(name: str) -> bytes:
    return resources.files("deltaprop.playground").joinpath("assets").joinpath(name).read_bytes()


class Playground(ThreadingHTTPServer):
    """The server: ``Playground(("127.0.0.1", 0))``, then ``serve_forever()``; ``url`` says where.

    Args:
      address: (host, port); port 0 takes a free one.
      sessions: the session store (a test passes one with its own clock).
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        sessions: Sessions | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        super().__init__(address, Handler)
        self.sessions = sessions if sessions is not None else Sessions()
        self.stopping = threading.Event()
        self._started = threading.Event()
        self.max_connections = max_connections
        self.connections = 0  # served now, each by a thread
        self._connections_lock = threading.Lock()
        host, port = self.server_address[:2]
        self.host, self.port = str(host), int(port)
        names = {f"{self.host}:{self.port}"}
        if self.host in ("127.0.0.1", "0.0.0.0"):
            names.add(f"localhost:{self.port}")
        self.allowed_hosts = names

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection while fewer than ``max_connections`` are served, else 503."""
        with self._connections_lock:
            full = self.connections >= self.max_connections
            if not full:
                self.connections += 1
        if full:
            try:
                request.settimeout(1.0)
                request.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Connection: close\r\nRetry-After: 1\r\n\r\n"
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve the connection, then free its slot."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._connections_lock:
            self.connections -= 1

    def serves(self, host: str) -> bool:
        """Whether a Host header names this server.

        Bound to one address, only that address (and localhost for the loopback).
        Bound to every address (``--host 0.0.0.0``), any IP address literal with this
        port: DNS rebinding needs a host *name*, so a literal address cannot be one.
        """
        if host in self.allowed_hosts:
            return True
        if self.host != "0.0.0.0":
            return False
        name, _, port = host.rpartition(":")
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return False
        return port == str(self.port)

    @property
    def url(self) -> str:
        """The address to open: http://HOST:PORT/ (127.0.0.1 when it listens on every address)."""
        host = "127.0.0.1" if self.host == "0.0.0.0" else self.host
        return f"http://{host}:{self.port}/"

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`stop` (or Ctrl-C)."""
        self._started.set()
        super().serve_forever(poll_interval)

    def stop(self) -> None:
        """End every stream and play loop, then the server."""
        self.stopping.set()
        for run in self.sessions.runs():
            with run.changed:
                run.playing = False
                run.changed.notify_all()
        if self._started.is_set():  # shutdown() waits for a serve_forever that never began
            self.shutdown()
        self.sessions.close()
        self.server_close()

    # --- the API -----------------------------------------------------------------------------

    def choices(self) -> dict[str, Any]:
        """What the page's controls may offer."""
        return {
            "datasets": list(DATASETS),
            "regression": list(REGRESSION),
            "features": FEATURE_LABELS,
            "activations": list(HIDDEN_ACTIVATIONS),
            "optimizers": list(PLAYGROUND_OPTIMIZERS),
            "costs": list(COST_CHOICES),
            "max_layers": MAX_HIDDEN_LAYERS,
            "max_units": MAX_UNITS,
            "per_layer_activations": True,  # a menu per hidden layer
            "experiments": list(experiments.EXPERIMENTS),
            "max_upload_bytes": MAX_UPLOAD_BYTES,
        }

    def run_of(self, key: Any) -> Run:
        """The session ``key``, or 410 when it has expired (or never was)."""
        run = self.sessions.get(str(key)) if isinstance(key, str) else None
        if run is None:
            raise HTTPError(HTTPStatus.GONE, "session expired or unknown; reload the page")
        return run

    def whole(self, run: Run) -> dict[str, Any]:
        """Settings, data and the frame: what the page needs after a (re)build."""
        return {"config": run.config.to_params(), "data": run.data(), "frame": run.frame()}

    def post(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        """Answer a POST to /api/<route>."""
        if route == "session":
            key, run = self.sessions.create(parse(bodies.obj(body, "params")))
            return {"session": key, "choices": self.choices(), **self.whole(run)}
        run = self.run_of(body.get("session"))
        if route == "config":
            with run.lock:
                run.configure(parse(bodies.obj(body, "params"), allow_csv=run.upload is not None))
            return self.whole(run)
        if route == "step":
            run.step(bodies.count(body, "n", 1, 1000))
            return run.frame()
        if route == "play":
            self.play(run, bodies.flag(body, "playing"))
            return {"playing": run.playing}
        if route == "edit":
            kind = body.get("kind")
            if kind not in ("W", "b"):
                raise ValueError(f"kind must be 'W' or 'b', got {bodies.shown(kind)}")
            value = bodies.weight(body, "value")
            source = bodies.count(body, "from", 1, 10**6) if kind == "W" else None
            run.edit(
                kind,
                bodies.count(body, "layer", 1, 100),
                bodies.count(body, "unit", 1, 10**6),
                source,
                value,
            )
            return run.frame()
        if route == "csv":
            table = run.table
            if table is None:
                raise ValueError("csv: upload a CSV file first")
            x1, x2, target = (bodies.text(body, k) for k in ("x1", "x2", "target"))
            problem = bodies.text(body, "problem", "classification")
            params = {**bodies.obj(body, "params"), "dataset": "csv", "problem": problem}
            with run.lock:
                upload = choose(table, x1, x2, target, problem)
                config = parse(params, allow_csv=True)
                previous, run.upload = run.upload, upload
                try:
                    run.configure(config)
                except ValueError:
                    run.upload = previous
                    raise
            return {**self.whole(run), "columns": list(upload.names)}
        if route == "experiment":
            name = bodies.text(body, "name")
            with run.lock:
                section = experiments.run(name, run.net, run.X, run.Y, run.config.seed)
            return section_json(section)
        raise HTTPError(HTTPStatus.NOT_FOUND, f"no API route {route!r}")

    def play(self, run: Run, playing: bool) -> None:
        """Start or stop the run's play loop (one thread per run, one epoch per frame)."""
        with run.lock:
            if playing == run.playing:
                return
            run.playing = playing
            run.bump()
            if not playing:
                return
        threading.Thread(target=self._play_loop, args=(run,), name=PLAY_THREAD, daemon=True).start()

    def _play_loop(self, run: Run) -> None:
        while run.playing and not self.stopping.is_set():
            started = time.perf_counter()
            run.step(1, epochs=True)
            rest = FRAME_INTERVAL - (time.perf_counter() - started)
            if rest > 0:
                time.sleep(rest)
        run.bump()


class Handler(BaseHTTPRequestHandler):
    """One request: checks first (Host, Origin, size), then an asset, the API or the stream."""

    server: Playground
    protocol_version = "HTTP/1.1"
    server_version = "deltaprop-playground"
    timeout = TIMEOUT  # a connection silent this long is dropped (or its body answered 408)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the command prints its address, not every request."""

    def do_GET(self) -> None:
        """An asset, the step-through, or the frame stream."""
        self._answer("GET")

    def do_POST(self) -> None:
        """An API call (JSON), or an upload (CSV)."""
        self._answer("POST")

    def _answer(self, method: str) -> None:
        try:
            self._check_origin()
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if method == "GET" and url.path in ASSETS:
                name, kind = ASSETS[url.path]
                self._send(HTTPStatus.OK, _asset(name), kind)
            elif method == "GET" and url.path == "/api/stream":
                self._stream(self.server.run_of(query.get("session")))
            elif method == "GET" and url.path == "/api/walk":
                run = self.server.run_of(query.get("session"))
                self._json(run.walk(bodies.example_index(query.get("example"))))
            elif method == "POST" and url.path == "/api/upload":
                run = self.server.run_of(query.get("session"))
                table = read_upload(self._body(MAX_UPLOAD_BYTES, "the CSV file"))
                run.table = table
                self._json({"columns": list(table.names), "rows": table.n_rows})
            elif method == "POST" and url.path.startswith("/api/"):
                body = bodies.parse_body(self._body(MAX_JSON_BYTES, "the request"))
                self._json(self.server.post(url.path[len("/api/") :], body))
            else:
                raise HTTPError(HTTPStatus.NOT_FOUND, "not found")
        except HTTPError as exc:
            self._json({"error": str(exc)}, exc.status)
        except ValueError as exc:  # bad settings or data, in the user's words
            self._json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):  # the client went away
            self.close_connection = True
        except Exception as exc:  # a defect of ours: answered and named, the server goes on
            self.close_connection = True
            print(f"deltaprop playground: {method} {self.path}: {exc!r}", file=sys.stderr)
            with contextlib.suppress(OSError):
                self._json({"error": f"internal error: {exc!r}"}, HTTPStatus.INTERNAL_SERVER_ERROR)

    def _check_origin(self) -> None:
        """403 unless Host is the address served and Origin (if sent) is exactly http://Host."""
        host = self.headers.get("Host", "")
        if not self.server.serves(host):
            raise HTTPError(HTTPStatus.FORBIDDEN, f"Host {host!r} is not this server's address")
        origin = self.headers.get("Origin")
        if origin is not None and origin != f"http://{host}":
            raise HTTPError(HTTPStatus.FORBIDDEN, f"Origin {origin!r} is not this server")

    def _body(self, limit: int, what: str) -> bytes:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise HTTPError(HTTPStatus.BAD_REQUEST, "Content-Length must be a number") from None
        if length > limit:
            self.close_connection = True  # the body is not read
            raise HTTPError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"{what} is {length:,} bytes; the playground takes at most {limit:,} bytes",
            )
        if length < 0:
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"Content-Length must be ≥ 0, got {length}")
        try:
            body = self.rfile.read(length) if length > 0 else b""
        except TimeoutError:
            self.close_connection = True
            raise HTTPError(
                HTTPStatus.REQUEST_TIMEOUT,
                f"{what} did not arrive within {self.timeout:g} s; send it again",
            ) from None
        if len(body) < length:
            self.close_connection = True
            raise HTTPError(HTTPStatus.BAD_REQUEST, f"{what} ended before its Content-Length")
        return body

    def _headers(self, status: HTTPStatus, kind: str, length: int | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self._headers(status, kind, len(body))
        self.wfile.write(body)

    def _json(self, value: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        self._send(status, text.encode(), "application/json; charset=utf-8")

    def _stream(self, run: Run) -> None:
        """Server-sent events: a frame each time the run changes, a comment every 10 s."""
        self._headers(HTTPStatus.OK, "text/event-stream; charset=utf-8", None)
        self.close_connection = True
        with run.lock:
            run.streams += 1
        try:
            self._frames(run)
        finally:
            with run.lock:
                run.streams -= 1
                if run.streams == 0 and run.playing:  # the tab went away: stop training
                    run.playing = False
                    run.bump()

    def _frames(self, run: Run) -> None:
        seen = -1
        while not self.server.stopping.is_set():
            with run.changed:
                if run.version == seen:
                    run.changed.wait(timeout=10.0)
                changed = run.version != seen
                frame = run.frame() if changed else None
                if frame is not None:
                    seen = frame["version"]
            if self.server.sessions.get_quiet(run) is None:
                self.wfile.write(b"event: expired\ndata: {}\n\n")
                self.wfile.flush()
                return
            if frame is None:
                self.wfile.write(b": still here\n\n")
            else:
                run.touch()  # training watched by a page is in use; a paused page idles
                text = json.dumps(frame, allow_nan=False, separators=(",", ":"))
                self.wfile.write(b"data: " + text.encode() + b"\n\n")
            self.wfile.flush()
