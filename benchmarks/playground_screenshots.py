"""Two screenshots of the playground: the main view after training, and a step-through.

Writes /tmp/playground-main.png (a 2-8-8-1 tanh network trained by Adam on the circle
data: surfaces, weights, loss curves) and /tmp/playground-step.png (the backward pass of
example 1 at a hidden δ, the unit highlighted, the inspector open on it). Needs
Chromium and Playwright.

    .venv/bin/python benchmarks/playground_screenshots.py [--out /tmp]
"""

from __future__ import annotations

import argparse
import shutil
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from deltaprop.playground import Playground


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp")
    out = Path(parser.parse_args().out)
    srv = Playground(("127.0.0.1", 0))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"))
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
            page = context.new_page()
            page.goto(srv.url + "?hidden=8,8&activation=tanh&optimizer=adam&lr=0.03")
            page.wait_for_selector("body[data-ready=true]")
            page.get_by_role("button", name="Play", exact=True).click()
            page.wait_for_function("Number(document.querySelector('#steps').textContent) >= 400")
            page.get_by_role("button", name="Pause", exact=True).click()
            page.wait_for_selector("#play[aria-pressed=false]")
            page.screenshot(path=str(out / "playground-main.png"), full_page=True)
            page.get_by_role("button", name="Start step-through").click()
            page.wait_for_selector("#walk-step .record")
            page.get_by_role("button", name="Jump to the backward pass").click()
            value = page.locator("#walk-step .numbers .num")
            while (value.get_attribute("data-symbol"), value.get_attribute("data-layer")) != (
                "delta",
                "3",
            ):
                page.get_by_role("button", name="Next step").click()
            page.locator(".unit[data-layer='3'][data-unit='1']").click()
            page.wait_for_selector("#inspect .record")
            page.screenshot(path=str(out / "playground-step.png"), full_page=True)
            browser.close()
    finally:
        srv.stop()
    print(f"wrote {out / 'playground-main.png'} and {out / 'playground-step.png'}")


if __name__ == "__main__":
    main()
