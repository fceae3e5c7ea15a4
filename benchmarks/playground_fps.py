"""How many frames a second reach the playground page while a 2-8-8-1 network trains.

Starts the playground server in this process, creates a session for a 2-8-8-1 tanh
network on the circle data (200 training points, batch 10, Adam), presses Play and
counts, for ``--seconds`` seconds:

- stream: the server-sent frames a client reading the stream receives and parses
  (what the page's EventSource gets), with their mean size;
- page (with ``--browser``, where Chromium and Playwright are installed): the frames
  the page actually draws, counted by a MutationObserver on the step counter.

The issue asks for 20 frames a second or more.

    .venv/bin/python benchmarks/playground_fps.py [--seconds 5] [--browser]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import threading
import time

from deltaprop.playground import Playground


def _post(srv: Playground, path: str, body: dict[str, object]) -> dict[str, object]:
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    conn.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    answer: dict[str, object] = json.loads(conn.getresponse().read())
    conn.close()
    return answer


SETTINGS = {"hidden": "8,8", "activation": "tanh", "optimizer": "adam", "lr": "0.01"}


def stream_rate(srv: Playground, seconds: float) -> tuple[float, float, int]:
    """Frames per second read off the stream, their mean size in bytes, steps made."""
    key = str(_post(srv, "/api/session", {"params": SETTINGS})["session"])
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    conn.request("GET", f"/api/stream?session={key}")
    response = conn.getresponse()
    response.fp.readline()  # the frame as it stands
    _post(srv, "/api/play", {"session": key, "playing": True})
    frames, size, last = 0, 0, {}
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        line = response.fp.readline()
        if line.startswith(b"data: "):
            last = json.loads(line[6:])
            frames += 1
            size += len(line)
    elapsed = time.perf_counter() - start
    _post(srv, "/api/play", {"session": key, "playing": False})
    conn.close()
    return frames / elapsed, size / max(frames, 1), int(last.get("step", 0))


def page_rate(srv: Playground, seconds: float) -> float | None:
    """Frames per second the page draws (None where Chromium or Playwright is missing)."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    query = "&".join(f"{k}={v}" for k, v in SETTINGS.items())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_context(bypass_csp=True).new_page()
        page.goto(f"{srv.url}?{query}")
        page.wait_for_selector("body[data-ready=true]")
        page.evaluate(
            "() => { window.drawn = 0; new MutationObserver(() => window.drawn++)"
            ".observe(document.querySelector('#steps'), {childList: true}); }"
        )
        page.get_by_role("button", name="Play", exact=True).click()
        page.wait_for_function("window.drawn > 0")
        n0, t0 = page.evaluate("window.drawn"), time.perf_counter()
        page.wait_for_timeout(seconds * 1000)
        n1, t1 = page.evaluate("window.drawn"), time.perf_counter()
        page.get_by_role("button", name="Pause", exact=True).click()
        browser.close()
    return (n1 - n0) / (t1 - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--browser", action="store_true", help="also count frames drawn")
    args = parser.parse_args()
    srv = Playground(("127.0.0.1", 0))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        fps, size, steps = stream_rate(srv, args.seconds)
        print(
            f"stream: {fps:.1f} frames/s for 2-8-8-1 ({size / 1000:.0f} kB a frame, "
            f"{steps} Adam steps in {args.seconds:g} s; target ≥ 20)"
        )
        if args.browser:
            drawn = page_rate(srv, args.seconds)
            if drawn is None:
                print("page: skipped (Chromium or Playwright is not installed)")
            else:
                print(f"page: {drawn:.1f} frames/s drawn by Chromium (target ≥ 20)")
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
