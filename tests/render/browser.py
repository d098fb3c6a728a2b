"""Headless Chromium from the system packages, driven by Selenium through /usr/bin/chromedriver.

Nothing is downloaded: Selenium Manager is bypassed by giving the driver's path. When the
browser, the driver or selenium is missing, :func:`browser_or_skip` skips the test with a loud
message saying what to install (``make test`` installs them when it runs as root).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("MODELSIZE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MODELSIZE_CHROMEDRIVER", "/usr/bin/chromedriver")


def missing() -> str | None:
    """What is missing to run the browser tests, or ``None``."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return "the chromium browser (apt-get install chromium)"
    if not Path(CHROMEDRIVER).exists():
        return "chromedriver (apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium (pip install selenium; it is in the dev extra)"
    return None


def browser_or_skip() -> None:
    reason = missing()
    if reason:
        message = (f"BROWSER TESTS SKIPPED: {reason} is not installed. The HTML pages were NOT checked in a browser. "
                   "Run 'make test' as root to install chromium and chromium-driver.")
        sys.stderr.write("\n" + "!" * 100 + "\n" + message + "\n" + "!" * 100 + "\n")
        pytest.skip(message)


@dataclass
class Loaded:
    """A page loaded in the browser, with what it did while loading."""

    driver: Any
    requests: list[str] = field(default_factory=list)  #: every URL the page asked for
    console: list[dict[str, Any]] = field(default_factory=list)  #: console messages (level, message)

    @property
    def network_requests(self) -> list[str]:
        """Requests that would leave the machine (anything but the page file itself and data: URLs)."""
        return [u for u in self.requests if not (u.startswith("file://") or u.startswith("data:"))]

    @property
    def console_errors(self) -> list[dict[str, Any]]:
        return [m for m in self.console if m.get("level") in ("SEVERE", "ERROR")]


def start(width: int = 1300, height: int = 1000) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")  # type: ignore[assignment]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--hide-scrollbars", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def load(driver: Any, path: Path) -> Loaded:
    """Open ``path`` and wait until its script has run (it sets ``data-ready`` on <html>)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("performance")  # drop what earlier pages logged
    driver.get_log("browser")
    driver.get(path.resolve().as_uri())
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(
        "return document.documentElement.getAttribute('data-ready')"))
    page = Loaded(driver)
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            page.requests.append(message["params"]["request"]["url"])
    page.console = list(driver.get_log("browser"))
    return page


def non_blank(png: bytes) -> tuple[int, float]:
    """(distinct colours, share of pixels that are not the background) of a screenshot."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.resize((image.width // 4, image.height // 4))
    pixels = list(small.getdata())
    background = max(set(pixels), key=pixels.count)
    colours = len(set(pixels))
    return colours, sum(1 for p in pixels if p != background) / len(pixels)
