"""Real Chromium for the console's tests: Debian's ``chromium`` and ``chromedriver`` driven by
Selenium (no browser download), and axe-core from the npm registry for the accessibility
check. Missing Chromium is a skip on a developer's machine and a failure where
GATEWAY_REQUIRE_BROWSER=1 (CI installs the packages and sets it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gateway.identity.dev_provider import _npm, find_node

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE_VERSION = "4.14.1"


def _skip_or_fail(why: str) -> None:
    if os.environ.get("GATEWAY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"Chromium is required here: {why}")
    pytest.skip(f"browser tests skipped: {why}")


@contextmanager
def chromium(profile_dir: Path | None = None) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, closed after; the profile is removed unless
    ``profile_dir`` names where to keep it (to look into its history afterwards)."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        _skip_or_fail("Debian's chromium and chromium-driver packages are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = str(profile_dir) if profile_dir else tempfile.mkdtemp(prefix="gateway-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        if profile_dir is None:
            shutil.rmtree(profile, ignore_errors=True)


def axe_source() -> str:
    """axe-core's browser bundle, installed once from the npm registry into the cache."""
    base = Path(os.environ.get("GATEWAY_PROVIDER_RUNTIME", Path.home() / ".cache" / "gateway"))
    folder = base / f"axe-core-{AXE_VERSION}"
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        node = find_node()
        work = Path(tempfile.mkdtemp(prefix="axe-", dir=base if base.exists() else None))
        (work / "package.json").write_text(json.dumps({"private": True}))
        env = {**os.environ, "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        subprocess.run(
            [*_npm(node), "install", "--no-audit", "--no-fund", f"axe-core@{AXE_VERSION}"],
            cwd=work,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        try:
            os.rename(work, folder)
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
    return script.read_text()


def serious_violations(driver: Any) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the current page (WCAG 2.1 A
    and AA rules)."""
    driver.execute_script(axe_source())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',"
        " 'wcag21aa']}}).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
        " nodes: v.nodes.length, help: v.help}))));"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def _code_words() -> tuple[list[str], list[str]]:
    """The codes no Danish page may show: those with a dot or hyphen anywhere in the text,
    single words where they are a cell's or a term's whole text."""
    from gateway.console.codes import CODES

    codes = {code for words in CODES.values() for code in words}
    return sorted(c for c in codes if "." in c or "-" in c), sorted(
        c for c in codes if "." not in c and "-" not in c
    )


def page_problems(driver: Any, width: int = 1280) -> list[str]:
    """What is wrong with the page as a person reads it: wider than ``width`` (a horizontal
    scroll bar), or a raw code where words belong (visible text only; folded details and
    attribute values do not count)."""
    compound, single = _code_words()
    found: list[str] = []
    wide = driver.execute_script("return document.documentElement.scrollWidth")
    if wide > width:
        found.append(f"{driver.current_url} is {wide} px wide, wider than {width}")
    text = driver.execute_script("return document.querySelector('main').innerText")
    for code in compound:
        if re.search(rf"(?<![\w./-]){re.escape(code)}(?![\w/-])", text):
            found.append(f"raw code {code!r} on the page")
    cells = driver.execute_script(
        "return Array.from(document.querySelectorAll('main td, main dd, main li, main caption'))"
        ".map(e => e.innerText.trim())"
    )
    found += [f"raw code {c!r} as a cell" for c in sorted(set(cells) & set(single))]
    return found
