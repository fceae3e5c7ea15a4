"""``deltaprop playground``'s server: safety checks, sessions, and numbers equal to the API's.

The page's numbers must be deltaprop's own: each test here rebuilds the run with the
library (``Network``, ``deltaprop.trainer``, ``backprop``) and compares.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import deltaprop
from deltaprop import Network, backprop
from deltaprop.gradcheck import check_gradient
from deltaprop.playground import Playground, Sessions
from deltaprop.playground import datasets as pg_data
from deltaprop.playground import server as pg_server
from deltaprop.playground.command import check_host, check_port
from deltaprop.playground.config import N_POINTS, parse
from deltaprop.playground.objectives import WithL1
from deltaprop.playground.server import PLAY_THREAD
from deltaprop.playground.uploads import MAX_UPLOAD_BYTES

DEFAULT = dict(dataset="circle", noise=0, train=50, seed=0, hidden=(4, 2), features=("x1", "x2"))


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(clock: Clock) -> Iterator[Playground]:
    srv = Playground(("127.0.0.1", 0), Sessions(limit=4, ttl=60.0, clock=clock))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.stop()
    thread.join(timeout=10)


def call(
    srv: Playground,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=headers or {})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    kind = response.getheader("Content-Type", "")
    return response.status, json.loads(payload) if "json" in kind else payload


def new_session(srv: Playground, **params: Any) -> tuple[str, dict[str, Any]]:
    status, answer = call(srv, "POST", "/api/session", {"params": params})
    assert status == 200, answer
    return answer["session"], answer


def library_run(
    optimizer: str = "sgd",
    lr: float = 0.03,
    hidden: tuple[int, ...] = (4, 2),
    activation: str | tuple[str, ...] = "tanh",
):
    """The default settings rebuilt with the library alone: data, split, network."""
    points, target = pg_data.generate("circle", N_POINTS, 0, 0)
    tr, te = pg_data.split(N_POINTS, 50, 0)
    X = pg_data.features(points, ("x1", "x2"))
    Y = target[:, None]
    net = Network([2, *hidden, 1], activation=activation, output_activation="sigmoid", seed=0)
    return net, X[tr], Y[tr], X[te], Y[te]


def walk_deltas(srv: Playground, key: str, run: Any) -> tuple[dict[str, Any], list[Any]]:
    """The step-through of example 3 and its δ steps, each checked equal to backprop's."""
    _, walk = call(srv, "GET", f"/api/walk?session={key}&example=3")
    net, X, Y = run[0], run[1], run[2]
    trace = backprop.forward(np, net.W, net.b, net.activations, X[2:3])
    out = backprop.output_delta(np, net.cost, net.activations[-1], trace, Y[2:3])
    delta = backprop.backward(np, net.W, net.activations, trace, out)
    shown = [s for s in walk["steps"] if s["symbol"] == "delta"]
    assert len(shown) == 4 + 2 + 1
    for s in shown:
        assert s["value"] == pytest.approx(delta[s["layer"] - 1][0, s["unit"] - 1], rel=1e-12)
    return walk, shown


# --- safety -------------------------------------------------------------------------------------


def test_the_page_and_its_assets_are_served_with_a_strict_policy(server: Playground) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    conn.request("GET", "/")
    response = conn.getresponse()
    page = response.read().decode()
    conn.close()
    assert response.status == 200 and "deltaprop playground" in page
    policy = response.getheader("Content-Security-Policy", "")
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    for asset in ("/app.js", "/walk.js", "/draw.js", "/style.css", "/favicon.svg"):
        status, _ = call(server, "GET", asset)
        assert status == 200, asset
    assert "http" not in page.replace("http-equiv", "")  # nothing from another site


def test_a_foreign_host_header_is_refused(server: Playground) -> None:
    status, answer = call(server, "GET", "/", headers={"Host": f"evil.example:{server.port}"})
    assert status == 403 and "evil.example" in answer["error"]
    status, _ = call(server, "GET", "/", headers={"Host": f"localhost:{server.port}"})
    assert status == 200
    status, _ = call(server, "POST", "/api/session", {"params": {}}, {"Host": "127.0.0.1:1"})
    assert status == 403


def test_a_foreign_origin_is_refused(server: Playground) -> None:
    status, answer = call(
        server, "POST", "/api/session", {"params": {}}, {"Origin": "http://evil.example"}
    )
    assert status == 403 and "Origin" in answer["error"]
    assert len(server.sessions) == 0
    own = {"Origin": f"http://127.0.0.1:{server.port}"}
    status, _ = call(server, "POST", "/api/session", {"params": {}}, own)
    assert status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/..%2f..%2fpyproject.toml",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/assets/app.js",
        "/assets/../server.py",
        "/server.py",
        "/app.js/../../server.py",
        "//etc/passwd",
        "/index.html",
        "/api/../../etc/passwd",
    ],
)
def test_no_file_outside_the_asset_table_is_served(server: Playground, path: str) -> None:
    sock = socket.create_connection((server.host, server.port), timeout=30)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        reply += chunk
    sock.close()
    assert reply.startswith(b"HTTP/1.1 404"), reply[:80]
    assert b"import" not in reply and b"root:" not in reply


def test_an_oversized_upload_is_refused_with_the_limit(server: Playground) -> None:
    key, _ = new_session(server)
    sock = socket.create_connection((server.host, server.port), timeout=30)
    sock.sendall(
        (
            f"POST /api/upload?session={key} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: text/csv\r\nContent-Length: {MAX_UPLOAD_BYTES + 1}\r\n\r\n"
        ).encode()
        + b"a,b,c\n"
    )
    reply = sock.makefile("rb").read()
    sock.close()
    assert reply.startswith(b"HTTP/1.1 413")
    assert f"at most {MAX_UPLOAD_BYTES:,} bytes".encode() in reply


def test_an_oversized_request_body_is_refused(server: Playground) -> None:
    status, answer = call(server, "POST", "/api/session", raw=b"{" + b" " * 70_000 + b"}")
    assert status == 413 and "at most" in answer["error"]


def test_idle_sessions_expire(server: Playground, clock: Clock) -> None:
    key, _ = new_session(server)
    clock.now += 59.0
    assert call(server, "POST", "/api/step", {"session": key})[0] == 200  # used: kept
    clock.now += 59.0
    assert call(server, "POST", "/api/step", {"session": key})[0] == 200
    clock.now += 61.0
    status, answer = call(server, "POST", "/api/step", {"session": key})
    assert status == 410 and "expired" in answer["error"]
    assert len(server.sessions) == 0


def test_sessions_are_bounded_and_separate(server: Playground) -> None:
    keys = [new_session(server)[0] for _ in range(5)]
    assert len(server.sessions) == 4
    assert call(server, "POST", "/api/step", {"session": keys[0]})[0] == 410  # oldest dropped
    _, before = call(server, "POST", "/api/step", {"session": keys[1], "n": 1})
    for _ in range(3):
        call(server, "POST", "/api/step", {"session": keys[2], "n": 5})
    _, after = call(server, "POST", "/api/step", {"session": keys[1], "n": 1})
    assert after["step"] == before["step"] + 1  # another tab's steps are not this one's


def test_a_bad_setting_is_named(server: Playground) -> None:
    for params, words in (
        ({"hidden": "4,99"}, "hidden must be at most 8"),
        ({"dataset": "moons"}, "dataset"),
        ({"lr": "fast"}, "lr must be a number"),
        ({"dataset": "plane", "cost": "cross_entropy"}, "cross_entropy needs a classification"),
        ({"colour": "red"}, "unknown setting 'colour'"),
    ):
        status, answer = call(server, "POST", "/api/session", {"params": params})
        assert status == 400 and words in answer["error"], answer


# --- the numbers are the library's ---------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "adam"])
def test_steps_are_the_trainers_steps(server: Playground, optimizer: str) -> None:
    key, answer = new_session(server, optimizer=optimizer, lr="0.1")
    net, X, Y, X_test, Y_test = library_run()
    assert answer["frame"]["J"]["J"] == pytest.approx(sum(net.cost_terms(X, Y)), rel=1e-12)
    _, frame = call(server, "POST", "/api/step", {"session": key, "n": 7})
    t = deltaprop.trainer(
        net,
        X,
        Y,
        optimizer=optimizer,
        learning_rate=0.1,
        batch_size=None if optimizer == "gd" else 10,
        epochs=10**7,
        seed=0,
    )
    for _ in range(7):
        t.step_once()
    assert frame["step"] == 7
    assert frame["J"]["J"] == pytest.approx(sum(net.cost_terms(X, Y)), rel=1e-12)
    assert frame["test"]["data"] == pytest.approx(net.cost_terms(X_test, Y_test)[0], rel=1e-12)
    assert np.allclose(
        np.concatenate([np.ravel(w) for w in frame["W"]]),
        np.concatenate([np.ravel(w) for w in net.W]),
        rtol=0,
        atol=1e-15,
    )


def test_the_step_through_is_backprops_delta_for_the_example(server: Playground) -> None:
    key, _ = new_session(server)
    walk, shown = walk_deltas(server, key, library_run())
    for s in shown:
        assert s["equation"].startswith("δ") and s["check"]["mark"] == "✓"
    order = [s["section"] for s in walk["steps"]]
    assert order.index("output-delta") > max(i for i, s in enumerate(order) if s == "forward")
    assert walk["x"] == library_run()[1][2].tolist()


def test_an_activation_per_hidden_layer_is_the_librarys(server: Playground) -> None:
    key, _ = new_session(server, activation="relu,tanh")
    run = library_run(activation=("relu", "tanh"))
    assert run[0].activation_label == "relu, tanh"
    walk_deltas(server, key, run)


def test_editing_a_weight_changes_J_as_the_library_says(server: Playground) -> None:
    key, _ = new_session(server)
    status, frame = call(
        server,
        "POST",
        "/api/edit",
        {"session": key, "kind": "W", "layer": 1, "unit": 2, "from": 1, "value": 1.5},
    )
    assert status == 200
    net, X, Y, _, _ = library_run()
    net.W[0][1, 0] = 1.5
    assert frame["J"]["J"] == pytest.approx(sum(net.cost_terms(X, Y)), rel=1e-12)
    status, answer = call(
        server,
        "POST",
        "/api/edit",
        {"session": key, "kind": "W", "layer": 1, "unit": 9, "from": 1, "value": 1.0},
    )
    assert status == 400 and "unit must be between 1 and 4" in answer["error"]


def test_reset_gives_the_same_initial_J(server: Playground) -> None:
    key, first = new_session(server, seed="3")
    call(server, "POST", "/api/step", {"session": key, "n": 20})
    _, again = call(server, "POST", "/api/config", {"session": key, "params": first["config"]})
    assert again["frame"]["J"] == first["frame"]["J"] and again["frame"]["step"] == 0


def test_a_csv_upload_trains(server: Playground) -> None:
    key, _ = new_session(server)
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(60, 2))
    text = "height,weight,kind,age\n" + "".join(
        f"{a:.4f},{b:.4f},{'tall' if a + b > 0 else 'short'},{20 + k}\n"
        for k, (a, b) in enumerate(rows)
    )
    status, answer = call(server, "POST", f"/api/upload?session={key}", raw=text.encode())
    assert status == 200 and answer == {"columns": ["height", "weight", "kind", "age"], "rows": 60}
    body = {
        "session": key,
        "x1": "height",
        "x2": "weight",
        "target": "kind",
        "problem": "classification",
        "params": {"optimizer": "adam", "lr": "0.1"},
    }
    status, whole = call(server, "POST", "/api/csv", body)
    assert status == 200 and whole["config"]["dataset"] == "csv", whole
    J0 = whole["frame"]["J"]["J"]
    _, frame = call(server, "POST", "/api/step", {"session": key, "n": 30})
    assert frame["J"]["J"] < J0
    status, answer = call(server, "POST", "/api/csv", {**body, "target": "age"})
    assert status == 400 and "exactly 2 values" in answer["error"]
    bad = text.replace("0.", "x.", 1)
    status, answer = call(server, "POST", f"/api/upload?session={key}", raw=bad.encode())
    assert status == 200  # a text cell is read; it is refused when the column is chosen
    status, answer = call(server, "POST", "/api/csv", body)
    assert status == 400 and "line 2" in answer["error"] and "upload" in answer["error"]


def test_the_stream_sends_frames(server: Playground) -> None:
    key, _ = new_session(server)
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    conn.request("GET", f"/api/stream?session={key}")
    response = conn.getresponse()
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    line = response.fp.readline()
    assert line.startswith(b"data: ") and json.loads(line[6:])["step"] == 0
    call(server, "POST", "/api/play", {"session": key, "playing": True})
    steps = []
    while len(steps) < 3:
        line = response.fp.readline()
        if line.startswith(b"data: "):
            steps.append(json.loads(line[6:])["step"])
    call(server, "POST", "/api/play", {"session": key, "playing": False})
    response.close()
    conn.close()
    assert steps[-1] > 0


def test_the_experiments_hold_on_the_network_on_screen(server: Playground) -> None:
    key, _ = new_session(server, l2="0.01")
    for name in ("why-half", "why-average", "why-decay", "why-delta"):
        status, section = call(server, "POST", "/api/experiment", {"session": key, "name": name})
        claims = [b for b in section["blocks"] if b["kind"] == "claim"]
        assert status == 200 and claims and all(c["holds"] for c in claims), section


def test_the_l1_objective_gradient_passes_the_check() -> None:
    net = Network([2, 3, 1], weight_decay=0.01, seed=1)
    X, Y = np.random.default_rng(0).normal(size=(6, 2)), np.ones((6, 1)) * 0.3
    result = check_gradient(WithL1(net, 0.05), X, Y)
    assert result.ok
    terms = WithL1(net, 0.05).value(net.params, deltaprop.objective.Batch(X, Y, None))
    assert terms.parts[:2] == pytest.approx(net.cost_terms(X, Y), rel=1e-12)


def test_config_round_trips_through_the_url() -> None:
    c = parse({"hidden": "3,5", "activation": "relu", "features": "x1,sin x2", "lr": "0.3"})
    assert parse(c.to_params()) == c and c.activation == ("relu", "relu")


# --- the command ------------------------------------------------------------------------------


def test_bad_options_are_named_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    from deltaprop.cli import main

    assert main(["playground", "--port", "70000", "--no-browser"]) == 2
    assert "--port must be a whole number 0 … 65535, got 70000" in capsys.readouterr().err
    assert main(["playground", "--host", "my-laptop", "--no-browser"]) == 2
    assert "--host must be an IP address" in capsys.readouterr().err
    assert check_port("0") == 0
    assert check_host("0.0.0.0") == "0.0.0.0"
    assert "warning: listening on 0.0.0.0" in capsys.readouterr().err


def start_command(*options: str) -> tuple[subprocess.Popen[str], str]:
    """``deltaprop playground --no-browser`` in a child process, and the line it prints first."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "deltaprop", "playground", *options, "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_stops_the_command_cleanly() -> None:
    proc, line = start_command()
    assert line.startswith("deltaprop playground: http://127.0.0.1:"), line
    port = int(line.split("127.0.0.1:")[1].split("/")[0])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/")
    assert conn.getresponse().status == 200
    conn.close()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped" in err and "Traceback" not in err


def test_play_stops_when_the_last_page_goes(server: Playground) -> None:
    key, _ = new_session(server)
    run = server.sessions.get(key)
    assert run is not None
    conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
    conn.request("GET", f"/api/stream?session={key}")
    response = conn.getresponse()
    response.fp.readline()
    call(server, "POST", "/api/play", {"session": key, "playing": True})
    while run.steps == 0:
        response.fp.readline()
    response.close()  # the tab is closed: the server notices at its next frames
    conn.close()
    with run.changed:
        run.changed.wait_for(lambda: not run.playing, timeout=30)
    assert not run.playing and run.streams == 0


def test_a_network_without_hidden_layers_trains_and_walks(server: Playground) -> None:
    key, whole = new_session(server, hidden="", optimizer="gd", lr="0.5")
    assert whole["config"]["hidden"] == "" and whole["frame"]["surface"]["hidden"] == []
    _, frame = call(server, "POST", "/api/step", {"session": key, "n": 3})
    assert frame["J"]["J"] < whole["frame"]["J"]["J"]
    _, walk = call(server, "GET", f"/api/walk?session={key}&example=1")
    assert [s["key"] for s in walk["steps"] if s["symbol"] == "delta"] == ["δ[2][1]"]


def test_on_every_address_only_address_literals_are_served() -> None:
    srv = Playground(("0.0.0.0", 0), Sessions())
    try:
        assert srv.serves(f"192.168.1.20:{srv.port}") and srv.serves(f"127.0.0.1:{srv.port}")
        assert not srv.serves(f"evil.example:{srv.port}")  # a name could be rebound
        assert not srv.serves("192.168.1.20:1")
    finally:
        srv.server_close()
    local = Playground(("127.0.0.1", 0), Sessions())
    try:
        assert not local.serves(f"192.168.1.20:{local.port}")
    finally:
        local.server_close()


def test_every_asset_is_package_data() -> None:
    # A non-editable install carries only what package-data names.
    import fnmatch
    from pathlib import Path

    from deltaprop.playground.server import ASSETS

    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    root = Path(__file__).resolve().parent.parent
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["deltaprop"]
    for name, _ in ASSETS.values():
        path = f"playground/assets/{name}"
        assert (root / "src" / "deltaprop" / path).is_file(), path
        assert any(fnmatch.fnmatch(path, g) for g in globs), path


# --- review findings: each test failed before its fix -------------------------------------------


@contextlib.contextmanager
def serving(srv: Playground) -> Iterator[Playground]:
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.stop()
        thread.join(timeout=10)


def play_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == PLAY_THREAD and t.is_alive()]


def wait_until(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_an_evicted_session_stops_its_play_loop(server: Playground, clock: Clock) -> None:
    key, _ = new_session(server)
    run = server.sessions.get(key)
    assert run is not None
    call(server, "POST", "/api/play", {"session": key, "playing": True})
    assert wait_until(lambda: run.steps > 0) and len(play_threads()) == 1
    clock.now += 1.0  # the playing run is now the one idle longest
    for _ in range(server.sessions.limit):
        new_session(server)
    assert server.sessions.get_quiet(run) is None  # evicted
    assert wait_until(lambda: not play_threads()), "the evicted run's play loop still runs"
    assert not run.playing


def test_expiry_waits_for_a_step_in_progress(server: Playground, clock: Clock) -> None:
    key, _ = new_session(server, optimizer="lbfgs")
    run = server.sessions.get(key)
    assert run is not None
    stepping, done = threading.Event(), threading.Event()

    def hold() -> None:  # a play thread in the middle of a step holds the run's lock
        with run.lock:
            stepping.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert stepping.wait(30)
    clock.now += 61.0
    expirer = threading.Thread(target=server.sessions.get, args=("another",))
    expirer.start()
    expirer.join(0.3)
    trainer_during_step = run._trainer
    done.set()
    holder.join(30)
    expirer.join(30)
    assert trainer_during_step is not None, "the trainer was closed under a step"
    assert run._trainer is None and not run.playing and len(server.sessions) == 0


def edit_raw(srv: Playground, key: str, value: str) -> tuple[int, Any]:
    body = f'{{"session": "{key}", "kind": "b", "layer": 1, "unit": 1, "value": {value}}}'
    return call(srv, "POST", "/api/edit", raw=body.encode())


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "1e7", "-2000000"])
def test_an_edit_refuses_a_weight_not_finite_or_absurd(server: Playground, value: str) -> None:
    key, _ = new_session(server)
    status, answer = edit_raw(server, key, value)
    assert status == 400 and ("value" in answer["error"] or "finite" in answer["error"]), answer
    _, frame = call(server, "POST", "/api/step", {"session": key, "n": 1})
    assert all(v is not None for v in frame["b"][0])  # θ is untouched and finite
    status, frame = edit_raw(server, key, "-2.5")
    assert status == 200 and frame["b"][0][0] == -2.5


@pytest.mark.parametrize(
    ("route", "raw", "expected"),
    [
        ("session", b'{"params": null}', "params must be a JSON object, got null"),
        ("session", b'{"params": "abc"}', "params must be a JSON object, got a string"),
        ("session", b'{"params": [1, 2]}', "params must be a JSON object, got an array"),
        ("session", b"[" * 30_000 + b"]" * 30_000, "nested more than"),
        ("session", b'{"params": {"seed": NaN}}', "finite numbers only, got NaN"),
        ("session", b"[1]", "must be a JSON object, got an array"),
        ("session", b"{not json", "not JSON"),
        ("session", b"\xff\xfe", "UTF-8"),
        ("session", b'{"params": {"seed": ' + b"9" * 5000 + b"}}", "at most 20 are accepted"),
        ("config", b'{"session": "x", "params": null}', "session expired"),
        ("experiment", b'{"session": "x"}', "session expired"),
    ],
)
def test_a_malformed_body_is_answered_400_never_a_traceback(
    server: Playground, route: str, raw: bytes, expected: str, capfd: pytest.CaptureFixture[str]
) -> None:
    status, answer = call(server, "POST", f"/api/{route}", raw=raw)
    assert status in (400, 410) and expected in answer["error"], answer
    assert "Traceback" not in capfd.readouterr().err


def test_every_field_of_a_session_request_is_checked(
    server: Playground, capfd: pytest.CaptureFixture[str]
) -> None:
    key, _ = new_session(server)
    table = ("x1,x2,y\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(40))).encode()
    assert call(server, "POST", f"/api/upload?session={key}", raw=table)[0] == 200
    bad = [
        ("config", {"params": None}, "params must be a JSON object"),
        ("config", {"params": "abc"}, "params must be a JSON object"),
        ("csv", {"x1": "x1", "x2": "x2", "target": "y", "params": 3}, "params must be a JSON"),
        ("csv", {"x1": ["x1"], "x2": "x2", "target": "y"}, "x1 must be a string"),
        ("play", {"playing": "yes"}, "playing must be true or false"),
        ("step", {"n": 10**6}, "n must be a whole number between 1 and 1000"),
        ("step", {"n": 1.5}, "n must be a whole number"),
        ("experiment", {"name": {"a": 1}}, "name must be a string"),
        ("edit", {"kind": "W", "layer": 1, "unit": 1, "from": 1}, "value must be a number"),
        ("edit", {"kind": "b", "layer": 10**9, "unit": 1, "value": 1}, "layer must be"),
        ("config", {"params": {"hidden": "8,8,8,8,8,8,8"}}, "at most 6 layers"),
        ("config", {"params": {"hidden": ",".join(["1"] * 5000)}}, "at most 6 layers"),
        ("config", {"params": {"hidden": "1000"}}, "hidden must be at most 8"),
        ("config", {"params": {"batch": "1000000"}}, "batch must be at most 1000"),
        ("config", {"params": {"lr": "1e300"}}, "lr must be"),
        ("config", {"params": {"lr": "nan"}}, "lr must be"),
        ("config", {"params": {"noise": "51"}}, "noise must be at most 50"),
        ("config", {"params": {"train": "99"}}, "train must be at most 90"),
        ("config", {"params": {"seed": "9" * 4000}}, "seed must be a number, got a text of"),
    ]
    for route, body, expected in bad:
        status, answer = call(server, "POST", f"/api/{route}", {"session": key, **body})
        assert status == 400 and expected in answer["error"], (route, body, answer)
    for example in ["0", "361", "-1", "1e3", "9" * 5000]:
        status, answer = call(server, "GET", f"/api/walk?session={key}&example={example}")
        assert status == 400 and "example must be" in answer["error"], answer
        assert len(answer["error"]) < 200  # the message never echoes a whole request
    assert "Traceback" not in capfd.readouterr().err


def test_on_every_address_an_origin_must_be_the_host_itself() -> None:
    with serving(Playground(("0.0.0.0", 0), Sessions())) as srv:
        host = f"127.0.0.1:{srv.port}"
        other = {"Host": host, "Origin": f"http://192.168.1.20:{srv.port}"}
        status, answer = call(srv, "POST", "/api/session", {}, headers=other)
        assert status == 403 and "Origin" in answer["error"]
        same = {"Host": host, "Origin": f"http://{host}"}
        assert call(srv, "POST", "/api/session", {}, headers=same)[0] == 200
        assert srv.url == f"http://127.0.0.1:{srv.port}/"


@pytest.mark.parametrize("host", ["::1", "::", "fe80::1"])
def test_an_ipv6_host_is_refused_naming_the_option(host: str) -> None:
    with pytest.raises(ValueError, match=r"--host must be an IPv4 address.*IPv6"):
        check_host(host)


def test_a_silent_client_is_timed_out(server: Playground, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_server.Handler, "timeout", 0.5)
    with socket.create_connection((server.host, server.port), timeout=20) as sock:
        sock.sendall(
            f"POST /api/session HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            "Content-Type: application/json\r\nContent-Length: 64000\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"did not arrive within 0.5 s" in answer


def test_connections_beyond_the_bound_are_answered_503() -> None:
    with serving(Playground(("127.0.0.1", 0), Sessions(), max_connections=2)) as srv:
        idle = [socket.create_connection((srv.host, srv.port), timeout=20) for _ in range(2)]
        try:
            assert wait_until(lambda: srv.connections == 2)  # both hold a thread
            with socket.create_connection((srv.host, srv.port), timeout=20) as third:
                assert third.recv(4096).startswith(b"HTTP/1.1 503")
        finally:
            for sock in idle:
                sock.close()
        assert wait_until(lambda: srv.connections == 0)  # slots come back
        assert call(srv, "GET", "/")[0] == 200


def test_a_port_in_use_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    from deltaprop.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["playground", "--port", str(port), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert f"--port {port} is already in use on 127.0.0.1" in err and "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_on_every_address_the_loopback_url_is_printed() -> None:
    proc, line = start_command("--host", "0.0.0.0")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert line.startswith("deltaprop playground: http://127.0.0.1:"), line
    assert "listening on all addresses" in line and "0.0.0.0" not in line
    assert proc.returncode == 0 and "warning: listening on 0.0.0.0" in err


def test_brackets_inside_strings_are_not_nesting() -> None:
    from deltaprop.playground.bodies import MAX_DEPTH, parse_body

    deep = "[" * (MAX_DEPTH + 5)
    assert parse_body(json.dumps({"name": deep}).encode()) == {"name": deep}
    assert parse_body(json.dumps({"name": '\\"' + deep}).encode()) == {"name": '\\"' + deep}
    assert parse_body(b"  ") == {}
    nested = ("[" * MAX_DEPTH + "]" * MAX_DEPTH).encode()
    with pytest.raises(ValueError, match="must be a JSON object, got an array"):
        parse_body(nested)  # as deep as allowed: parsed, then refused for not being an object
    with pytest.raises(ValueError, match="nested more than"):
        parse_body(b"[" + nested + b"]")
