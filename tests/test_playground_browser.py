"""``deltaprop playground`` in a real browser: Debian's Chromium driven by Playwright.

Each test reads the numbers off the page by their data attributes and holds them
against deltaprop's Python API for the same seed and example. Every test also
checks that no request left the server's own address and that the console stayed
free of errors. Waits are on conditions, never fixed sleeps.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deltaprop import Network, backprop
from deltaprop.playground import Playground
from deltaprop.playground import datasets as pg_data
from deltaprop.playground.config import N_POINTS

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed (Debian package 'chromium'; .ci/run installs it)",
)
TIMEOUT = 30_000  # ms: a loaded 2-core machine


@pytest.fixture(scope="module")
def server() -> Iterator[Playground]:
    srv = Playground(("127.0.0.1", 0))
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.stop()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def page(server: Playground, browser: Any) -> Iterator[Any]:
    # The page's own policy forbids eval; Playwright's waits need it, so the test bypasses it
    # (the server test checks the header itself).
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT)
    pg = context.new_page()
    problems: list[str] = []
    foreign: list[str] = []
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.on("request", lambda r: None if r.url.startswith(server.url) else foreign.append(r.url))
    yield pg
    context.close()
    assert problems == [], problems
    assert foreign == [], foreign


def open_page(page: Any, server: Playground, query: str = "") -> None:
    page.goto(server.url + query)
    page.wait_for_selector("body[data-ready=true]")


def J(page: Any) -> float:
    return float(page.get_attribute("[data-symbol=J][data-set=train]", "data-value"))


def wait_J_change(page: Any, old: float) -> None:
    page.wait_for_function(
        "old => Number(document.querySelector('[data-symbol=J][data-set=train]')"
        ".dataset.value) !== old",
        arg=old,
    )


def library_net() -> tuple[Network, np.ndarray, np.ndarray]:
    """The page's default run rebuilt with the library: circle, seed 0, 2-4-2-1 tanh."""
    points, target = pg_data.generate("circle", N_POINTS, 0, 0)
    tr, _ = pg_data.split(N_POINTS, 50, 0)
    X = pg_data.features(points, ("x1", "x2"))[tr]
    net = Network([2, 4, 2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    return net, X, target[tr][:, None]


def test_play_and_step_change_J(page: Any, server: Playground) -> None:
    open_page(page, server)
    net, X, Y = library_net()
    J0 = J(page)
    assert J0 == pytest.approx(sum(net.cost_terms(X, Y)), rel=1e-12)
    page.get_by_role("button", name="Step", exact=True).click()
    wait_J_change(page, J0)
    assert page.text_content("#steps") == "1"
    J1 = J(page)
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("Number(document.querySelector('#steps').textContent) >= 60")
    page.get_by_role("button", name="Pause", exact=True).click()
    page.wait_for_selector("#play[aria-pressed=false]")
    assert J(page) != J1
    page.get_by_role("button", name="Step", exact=True).focus()  # keyboard operable
    steps = int(page.text_content("#steps"))
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => Number(document.querySelector('#steps').textContent) === n + 1", arg=steps
    )


def test_the_step_through_shows_each_delta_equal_to_backprop(page: Any, server: Playground) -> None:
    open_page(page, server)
    page.fill("#example", "5")
    page.get_by_role("button", name="Start step-through").click()
    page.wait_for_selector("#walk-step .record")
    net, X, Y = library_net()
    trace = backprop.forward(np, net.W, net.b, net.activations, X[4:5])
    out = backprop.output_delta(np, net.cost, net.activations[-1], trace, Y[4:5])
    delta = backprop.backward(np, net.W, net.activations, trace, out)
    assert page.text_content("#walk-mode") == "forward"
    first = page.locator("#walk-step .num").first
    assert first.get_attribute("data-symbol") == "z"
    assert float(first.get_attribute("data-value")) == pytest.approx(trace.z[1][0, 0], rel=1e-12)
    page.get_by_role("button", name="Jump to the backward pass").click()
    page.wait_for_function("document.querySelector('#walk-mode').textContent === 'backward'")
    seen: dict[tuple[int, int], float] = {}
    for _ in range(60):
        record = page.locator("#walk-step .record")
        value = record.locator(".numbers .num")
        if value.get_attribute("data-symbol") == "delta":
            l, i = int(value.get_attribute("data-layer")), int(value.get_attribute("data-unit"))
            seen[(l, i)] = float(value.get_attribute("data-value"))
            assert record.locator(".equation").text_content().startswith("δ")
            assert "✓" in record.locator(".check").text_content()
            unit = page.locator(f".unit[data-layer='{l}'][data-unit='{i}']")
            assert "current-target" in unit.get_attribute("class")
        if len(seen) == 7:
            break
        position = page.text_content("#walk-pos")
        page.get_by_role("button", name="Next step").click()
        page.wait_for_function(
            "p => document.querySelector('#walk-pos').textContent !== p", arg=position
        )
    assert sorted(seen) == [(2, 1), (2, 2), (2, 3), (2, 4), (3, 1), (3, 2), (4, 1)]
    for (l, i), v in seen.items():
        assert v == pytest.approx(delta[l - 1][0, i - 1], rel=1e-12)


def test_clicking_a_unit_and_editing_a_weight_updates_J_as_the_api_says(
    page: Any, server: Playground
) -> None:
    open_page(page, server)
    page.locator(".unit[data-layer='2'][data-unit='1']").click()
    page.wait_for_selector("#inspect [data-symbol=delta][data-layer='2'][data-unit='1']")
    for symbol in ("z", "a", "delta"):
        assert page.locator(f"#inspect .numbers [data-symbol={symbol}]").count() == 1
    # Lines cross where a mouse would click; a weight is also chosen with Tab and Enter.
    page.locator("line.edge[data-layer='1'][data-unit='3'][data-from='2']").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(
        "#inspect [data-symbol=dW][data-layer='1'][data-unit='3'][data-from='2']"
    )
    J0 = J(page)
    page.get_by_label("W₃₂⁽¹⁾", exact=True).fill("-2.5")
    page.get_by_role("button", name="Set W₃₂⁽¹⁾").click()
    wait_J_change(page, J0)
    net, X, Y = library_net()
    net.W[0][2, 1] = -2.5
    assert J(page) == pytest.approx(sum(net.cost_terms(X, Y)), rel=1e-12)
    edge = page.locator("line.edge[data-layer='1'][data-unit='3'][data-from='2']")
    assert float(edge.get_attribute("data-value")) == -2.5


def test_reset_returns_to_the_same_initial_J(page: Any, server: Playground) -> None:
    open_page(page, server, "?seed=7&hidden=3&optimizer=adam&lr=0.1")
    J0 = J(page)
    page.get_by_role("button", name="Step", exact=True).click()
    wait_J_change(page, J0)
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_function("document.querySelector('#steps').textContent === '0'")
    assert J(page) == J0
    assert "seed=7" in page.url and "hidden=3" in page.url  # the state is in the URL


def test_a_csv_upload_trains(page: Any, server: Playground, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(size=(80, 2))
    csv = tmp_path / "mine.csv"
    csv.write_text("a,b,label\n" + "".join(f"{x:.3f},{y:.3f},{int(x * y > 0)}\n" for x, y in rows))
    open_page(page, server, "?optimizer=adam&lr=0.1&hidden=6")
    page.set_input_files("#csv-file", str(csv))
    page.wait_for_selector("#csv-use:not([disabled])")
    page.get_by_role("button", name="Use these columns").click()
    page.wait_for_function("location.search.includes('dataset=csv')")
    J0 = J(page)
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function("Number(document.querySelector('#steps').textContent) >= 40")
    page.get_by_role("button", name="Pause", exact=True).click()
    assert J(page) < J0


def test_an_experiment_runs_on_the_network_on_screen(page: Any, server: Playground) -> None:
    open_page(page, server)
    page.get_by_role("button", name="Why ½?").click()
    page.wait_for_selector("#experiment .claim")
    claims = page.locator("#experiment .claim")
    assert claims.count() == 2
    assert all("✓" in claims.nth(k).text_content() for k in range(claims.count()))
