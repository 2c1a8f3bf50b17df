"""The web console: its session, CSRF and CSP properties over real HTTP, and the DPO's and legal
staff's work in real Chromium against the real identity provider, with an accessibility check
(axe-core) of every page."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyarrow.csv as pacsv
import pytest

from gateway.console.session import COOKIE
from gateway.console.texts import TEXTS
from gateway.domain.principals import Role
from gateway.identity.dev_tokens import _forms
from tests.browser import chromium, page_problems, serious_violations
from tests.conftest import ROOT, Gateway, Synthetic, serving_gateway
from tests.identity import bearer, provider
from tests.integration.test_extracts_api import LINKED, push_all

TEMPLATES = ROOT / "gateway" / "console" / "templates"
SCREENSHOTS = ROOT / "docs" / "console"


@pytest.fixture
def console(tmp_path: Path, synthetic: Synthetic) -> Iterator[Gateway]:
    """A real server with every synthetic delivery in it and one pending request by anna."""
    with serving_gateway(tmp_path / "var") as gw:
        push_all(gw, synthetic)
        anna = bearer(provider().person("anna"))
        assert gw.client.post("/v1/extracts", json=LINKED, headers=anna).status_code == 201
        yield gw


def _login(base: str, login: str) -> httpx.Client:
    """A console session as a browser gets one: code flow with PKCE through the provider's
    own pages (the provider and the gateway share the host, so one cookie jar serves both)."""
    browser = httpx.Client(follow_redirects=True, timeout=30)
    page = browser.get(f"{base}/console/")
    for _ in range(6):
        if page.url.path.startswith("/console/") and page.url.port == urlparse(base).port:
            return browser
        action, inputs = _forms(page.text)[0]
        if "login" in inputs:
            inputs.update(login=login, password="any")
        page = browser.post(str(page.url.join(action)), data=inputs)
    raise AssertionError(f"login did not come back to the console: {page.url}")


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return match[1]


def test_pages_need_a_login_and_the_login_is_code_flow_with_pkce(console: Gateway) -> None:
    base = str(console.client.base_url).rstrip("/")
    r = httpx.get(f"{base}/console/audit")
    assert r.status_code == 303 and r.headers["location"] == "/console/login?next=/console/audit"
    login = httpx.get(f"{base}/console/login")
    target = urlparse(login.headers["location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}" == provider().issuer
    assert query["code_challenge_method"] == ["S256"] and query["state"][0]
    assert query["redirect_uri"] == [f"{base}/console/callback"]
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # loopback; any other host gets Secure (next test)
    forged = httpx.get(f"{base}/console/callback", params={"code": "x", "state": "y"})
    assert forged.status_code == 400
    tampered = httpx.get(f"{base}/console/", cookies={COOKIE: "A" * 200})
    assert tampered.status_code == 303


def test_cookies_are_secure_off_loopback_and_pages_carry_a_strict_csp(console: Gateway) -> None:
    base = str(console.client.base_url).rstrip("/")
    off_loopback = httpx.get(f"{base}/console/login", headers={"Host": "gateway.example"})
    assert "Secure" in off_loopback.headers["set-cookie"]
    with closing(_login(base, "dpo")) as browser:
        for page in ("/console/", "/console/lookup", "/console/audit", "/console/integrity"):
            r = browser.get(f"{base}{page}")
            assert r.status_code == 200, (page, r.text[:300])
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe" not in csp
            assert "frame-ancestors 'none'" in csp
            assert r.headers["x-frame-options"] == "DENY"
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template  # no inline script
        assert not re.search(r"\son[a-z]+=", text), template  # no inline handlers
        assert "style=" not in text, template


def test_every_form_needs_the_sessions_csrf_token_and_our_origin(console: Gateway) -> None:
    base = str(console.client.base_url).rstrip("/")
    with closing(_login(base, "dpo")) as browser:
        token = _csrf(browser.get(f"{base}/console/lookup").text)
        cpr = {"cpr": "0101801234"}
        assert browser.post(f"{base}/console/lookup", data=cpr).status_code == 403
        wrong = browser.post(f"{base}/console/lookup", data={**cpr, "csrf": "x" * len(token)})
        assert wrong.status_code == 403
        foreign = browser.post(
            f"{base}/console/lookup",
            data={**cpr, "csrf": token},
            headers={"Origin": "http://evil.example"},
        )
        assert foreign.status_code == 403
        ok = browser.post(f"{base}/console/lookup", data={**cpr, "csrf": token})
        assert ok.status_code == 200 and ok.history[0].status_code == 303
        assert "0101801234" not in str(ok.url) and "answer=" in str(ok.url)
        other = _login(base, "dpo")  # another session cannot open this answer
        with closing(other):
            assert other.get(str(ok.url)).status_code == 410
        copied = browser.cookies.get(COOKIE, path="/console")
        assert copied and len(copied) < 64  # a random id: no token in the browser
        logout = browser.post(f"{base}/console/logout", data={"csrf": token})
        # On to the identity provider, which asks to confirm that its session ends too
        # (RP-initiated logout), then back to the console's login page.
        assert logout.status_code == 200 and "/session/end" in str(logout.url)
        action, inputs = _forms(logout.text)[0]
        back = browser.post(str(logout.url.join(action)), data={**inputs, "logout": "yes"})
        assert back.url.path == "/console/login-page", back.url
        assert browser.get(f"{base}/console/", follow_redirects=False).status_code == 303
        # The cookie copied before the logout opens nothing now.
        thief = httpx.Client(cookies={COOKIE: copied}, follow_redirects=False)
        with closing(thief):
            assert thief.get(f"{base}/console/").status_code == 303
        # And the provider's own session ended: the next login asks for the person again.
        again = browser.get(f"{base}/console/")
        assert _forms(again.text) and "login" in _forms(again.text)[0][1]


def test_a_session_ends_on_idle_a_role_change_and_an_operators_revoke(
    console: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session is the gateway's: idle too long, it is over; the person's roles change at
    the provider, it is over at the next renewal; an operator revokes it, it is over. Each
    time the browser's cookie opens nothing more."""
    from gateway.identity.dev_provider import Person
    from gateway.services.platform import sessions as console_sessions
    from gateway.storage import tables as t

    base = str(console.client.base_url).rstrip("/")
    engine = console.runtime.store.engine

    def live(browser: httpx.Client) -> bool:
        return browser.get(f"{base}/console/", follow_redirects=False).status_code == 200

    with closing(_login(base, "dina")) as browser:
        assert live(browser)
        with engine.begin() as conn:  # half an hour and a minute without a request
            conn.execute(t.console_sessions.update().values(last_seen_at=0.0))
        assert not live(browser)
        with engine.begin() as conn:
            ended = conn.execute(t.console_sessions.select()).mappings().all()
        assert {r["end_reason"] for r in ended if r["principal"]} >= {"idle"}
    # A role change shows at the next renewal (every request, for this test).
    monkeypatch.setattr(console_sessions, "RECHECK", 0)
    with closing(_login(base, "carl")) as browser:
        assert live(browser)
        carl = Person("carl", "star-analyse", ("recipient",), unit="jura")
        provider().state.add_person(carl)
        try:
            assert not live(browser)
        finally:
            provider().state.add_person(Person("carl", "star-analyse", ("approver",), unit="jura"))
        with engine.begin() as conn:
            rows = conn.execute(t.console_sessions.select()).mappings().all()
        assert any(
            r["end_reason"] == "role-change" and "person:carl" in (r["principal"] or "")
            for r in rows
        )
    monkeypatch.setattr(console_sessions, "RECHECK", 300)
    # An operator ends every session of an organisation.
    with closing(_login(base, "dina")) as browser:
        assert live(browser)
        operator = console.auth("ops", Role.OPERATOR)
        listed = console.client.get("/v1/sessions", headers=operator).json()["sessions"]
        assert any(s["principal"].startswith("hub-legal/") for s in listed)
        revoked = console.client.post(
            "/v1/sessions/revoke", json={"organisation": "hub-legal"}, headers=operator
        )
        assert revoked.status_code == 200 and revoked.json()["ended"] >= 1
        assert not live(browser)
    refused = console.client.get(
        "/v1/sessions", headers=console.auth("dina@hub-legal", Role.APPROVER)
    )
    assert refused.status_code == 403


def test_hsts_is_sent_over_https_only(gateway: Gateway) -> None:
    from starlette.testclient import TestClient

    assert "strict-transport-security" not in gateway.client.get("/healthz").headers
    with TestClient(gateway.client.app, base_url="https://gateway.example") as secure:
        answer = secure.get("/healthz")
        assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


def test_console_pages_check_the_same_permissions_as_the_api(console: Gateway) -> None:
    """A recipient's analyst logged into the console: no lookups, no audit trail, no
    verification; the queue shows only her own organisation's requests."""
    base = str(console.client.base_url).rstrip("/")
    with closing(_login(base, "statistiker")) as browser:
        for page in ("/console/lookup", "/console/audit", "/console/integrity"):
            r = browser.get(f"{base}{page}")
            assert r.status_code == 403, page
            assert r.headers["content-type"].startswith("text/html"), page
            # In words, with the navigation kept: which role the page needs, no internal id.
            assert "Den kræver en af rollerne" in r.text and "revisor" in r.text, r.text
            assert "<nav" in r.text and "audit." not in r.text
        queue = browser.get(f"{base}/console/")
        assert queue.status_code == 200 and "ext-" not in queue.text  # anna's is star-analyse's
        token = _csrf(queue.text)
        r = browser.post(f"{base}/console/lookup", data={"cpr": "0101801234", "csrf": token})
        assert r.status_code == 403


def test_every_text_has_both_languages() -> None:
    assert all(da and en for da, en in TEXTS.values())


def _first_cpr(synthetic: Synthetic) -> str:
    table = pacsv.read_csv(
        synthetic.path("dfdg-indsats"),
        convert_options=pacsv.ConvertOptions(column_types={"cpr": "string"}),
    )
    return str(table["cpr"][0].as_py())


def _shoot(driver: Any, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / f"{name}.png"))
    if os.environ.get("GATEWAY_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / f"{name}.png", SCREENSHOTS / f"{name}.png")


def _open(driver: Any, url: str) -> None:
    """Load a console page and wait until its main content is there (not just the request)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "main h1"))


def _browser_login(driver: Any, base: str, login: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base}/console/login-page")
    driver.delete_all_cookies()  # the provider shares the host: its session goes too
    driver.get(f"{base}/console/")
    wait = WebDriverWait(driver, 30)
    wait.until(lambda d: d.find_elements(By.NAME, "login"))
    driver.find_element(By.NAME, "login").send_keys(login)
    driver.find_element(By.NAME, "password").send_keys("any")
    login_page = driver.current_url
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # The provider's consent page (a new address), then back to the console.
    wait.until(lambda d: d.current_url != login_page)
    if not driver.current_url.startswith(f"{base}/console/"):
        consent = driver.current_url
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "button[type=submit]"))
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda d: d.current_url != consent)
    wait.until(lambda d: d.current_url.startswith(f"{base}/console/"))


@pytest.mark.slow
def test_a_dpo_and_legal_staff_work_in_the_browser(
    console: Gateway, synthetic: Synthetic, tmp_path: Path
) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base = str(console.client.base_url).rstrip("/")
    shots = tmp_path / "screenshots"
    profile = tmp_path / "chromium-profile"
    cpr = _first_cpr(synthetic)
    shapes = (cpr, f"{cpr[:6]}-{cpr[6:]}")
    with chromium(profile) as driver:
        wait = WebDriverWait(driver, 60)
        # Anna asked; she may not approve her own request, even holding the approver role.
        _browser_login(driver, base, "anna")
        driver.find_element(By.CSS_SELECTOR, "form[action$='/approve'] button").click()
        try:
            alert = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[role=alert]"))
        except TimeoutException:  # show what came instead of the refusal
            raise AssertionError(driver.page_source[:3000]) from None
        assert "four-eyes" in alert.text
        _shoot(driver, shots, "self-approval-refused")
        # The DPO sees the decision with every rule and its citation, and approves.
        _browser_login(driver, base, "dpo")
        page = driver.page_source
        for words in ("Videregivelsesforbud", "Formålsbinding", "Hjemmel", "2012 reform", "anna"):
            assert words in page, words
        # Beside the decision, the quality of the months the specification reads.
        assert "Datakvalitet i de måneder, der læses" in page
        assert re.search(r"<td>lpr</td><td colspan=\"2\">1 måned</td><td>i orden</td>", page)
        # Who asked, when and why, in words (not "person: anna").
        assert re.search(r"Anmodet</dt><dd>\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(0 dage siden\)", page)
        assert "Anmoderens begrundelse" in page and "person: anna" not in page
        # What the approval covers: the runs and the last day the specification states.
        assert re.search(r"Godkendelsen dækker</dt><dd>\d+ kørsler, ", page)
        assert "Send tilbage til ændring" in page  # Airlock's returned state, with a comment
        assert serious_violations(driver) == [] and page_problems(driver) == []
        _shoot(driver, shots, "approval-queue")
        note = driver.find_element(By.CSS_SELECTOR, "form[action$='/approve'] input[name=note]")
        note.send_keys("Basis: the 2012 reform; persons in resource courses")
        driver.find_element(By.CSS_SELECTOR, "form[action$='/approve'] button").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[role=status].done"))
        assert "Registreret: godkendt (ext-" in driver.page_source
        # Who received data about this citizen: the CPR goes in the body, and nowhere else.
        _open(driver, f"{base}/console/lookup")
        assert serious_violations(driver) == []
        driver.find_element(By.ID, "cpr").send_keys(cpr)
        driver.find_element(By.CSS_SELECTOR, "form[action='/console/lookup'] button").click()
        wait.until(lambda d: d.find_elements(By.ID, "result"))
        main_text = driver.find_element(By.TAG_NAME, "main").text
        assert "levering modtaget" in main_text and "delivery.accepted" not in main_text
        letter = driver.page_source  # the article 15 answer, as a letter
        assert "Hvor længe oplysningerne opbevares" in letter  # art. 15(1)(d)
        assert "15 years after the month" in letter
        for words in ("Dine rettigheder", "Datatilsynet", "Retsgrundlag", "Hvor oplysningerne"):
            assert words in letter, words
        assert serious_violations(driver) == [] and page_problems(driver) == []
        assert not any(s in driver.page_source for s in shapes)
        assert not any(s in driver.current_url for s in shapes)
        assert driver.find_element(By.ID, "cpr").get_attribute("value") == ""
        history = driver.execute_script("return window.history.length")
        assert history >= 1 and not any(s in driver.current_url for s in shapes)
        _shoot(driver, shots, "citizen-lookup")
        driver.back()  # the page before the answer holds no CPR either
        assert not any(s in driver.page_source for s in shapes)
        log = console.settings.log_file
        assert log is not None and not any(s in log.read_text() for s in shapes)
        # Refusals of the last 30 days: the self-approval is among them.
        _open(driver, f"{base}/console/audit")
        Select(driver.find_element(By.ID, "range")).select_by_value("30d")
        Select(driver.find_element(By.ID, "category")).select_by_value("refusals")
        driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
        wait.until(lambda d: d.find_elements(By.ID, "total"))
        assert int(driver.find_element(By.ID, "total").text) >= 1
        assert "godkendelse nægtet" in driver.page_source
        assert serious_violations(driver) == [] and page_problems(driver) == []
        _shoot(driver, shots, "audit-search")
        # Is the log intact? Verification runs in the background; the page follows it.
        _open(driver, f"{base}/console/integrity")
        driver.find_element(By.CSS_SELECTOR, "form[action$='/verify'] button").click()
        wait.until(lambda d: d.find_elements(By.ID, "result") or "intact" in d.page_source)
        wait.until(lambda d: "dpo" in d.find_element(By.ID, "last").text)
        assert serious_violations(driver) == [] and page_problems(driver) == []
        _shoot(driver, shots, "log-integrity")
        _open(driver, f"{base}/console/grants")
        assert "star-analyse-lpr" in driver.page_source
        assert serious_violations(driver) == [] and page_problems(driver) == []
        # Grouped by recipient, and filtered: one recipient's grants alone.
        Select(driver.find_element(By.ID, "recipient")).select_by_value("star-analyse")
        driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
        wait.until(lambda d: "recipient=star-analyse" in d.current_url)
        assert len(driver.find_elements(By.CSS_SELECTOR, "main section h2")) == 1
        _shoot(driver, shots, "legal-bases")
        # What each source delivered per month, and what each recipient was released.
        _open(driver, f"{base}/console/deliveries")
        page = driver.page_source
        assert re.search(r"<td>lpr</td><td>2016-11</td>\s*<td>1 af 1</td>", page), page[-4000:]
        assert serious_violations(driver) == [] and page_problems(driver) == []
        _shoot(driver, shots, "deliveries")
        analyse = console.auth("star-analyse", Role.RECIPIENT)
        extract_id = re.search(
            r"ext-[0-9a-f]{32}", console.client.get("/v1/extracts", headers=analyse).text
        )
        assert extract_id is not None
        run = console.client.post(f"/v1/extracts/{extract_id[0]}/releases", headers=analyse)
        assert run.status_code == 201, run.text
        _open(driver, f"{base}/console/releases")
        assert run.json()["sha256"] in driver.page_source
        assert "ikke hentet" in driver.page_source and "udleveret" in driver.page_source
        assert serious_violations(driver) == [] and page_problems(driver) == []
        _shoot(driver, shots, "releases")
        # A breach question: who holds data from the hospital contacts' delivery?
        accepted = console.client.get(
            "/v1/audit/entries",
            params={"event_type": "delivery.accepted", "dataset": "lpr"},
            headers=console.auth("hub-dpo", Role.AUDITOR),
        ).json()["entries"]
        _open(driver, f"{base}/console/impact?delivery={accepted[0]['refs']['delivery']}")
        assert run.json()["id"] in driver.page_source and "ikke hentet" in driver.page_source
        assert serious_violations(driver) == [] and page_problems(driver) == []
        _shoot(driver, shots, "impact")
        # Storage limitation: what is kept until when; a legal hold placed and its lifting
        # asked here, confirmed by another person; the records of processing as a page.
        _open(driver, f"{base}/console/retention")
        assert "Opbevaring og sletning" in driver.page_source
        assert serious_violations(driver) == [] and page_problems(driver) == []
        driver.find_element(By.ID, "hold-reason").send_keys("Rigsrevisionens inspektion")
        driver.find_element(By.ID, "hold-dataset").send_keys("lpr")
        driver.find_element(By.CSS_SELECTOR, "form.place-hold button").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[role=status].done"))
        page = driver.page_source
        assert "dataset lpr" in page and "Rigsrevisionens inspektion" in page
        assert re.search(r"Udskyder</dt><dd>[12] sletninger", page)  # the delivery, its release
        hold_id = re.search(r"hold-[0-9a-f]{32}", page)
        assert hold_id is not None
        driver.find_element(By.ID, f"lift-{hold_id[0]}").send_keys("inspektionen er afsluttet")
        driver.find_element(By.CSS_SELECTOR, f"form[action$='{hold_id[0]}/lift'] button").click()
        wait.until(lambda d: "Ophævelse anmodet af" in d.page_source)
        assert "en anden person skal bekræfte" in driver.page_source  # not the asker's button
        assert not driver.find_elements(By.CSS_SELECTOR, f"form[action$='{hold_id[0]}/lift']")
        assert serious_violations(driver) == []
        _shoot(driver, shots, "retention")
        second = console.client.post(
            f"/v1/retention/holds/{hold_id[0]}/lift",
            headers=console.auth("dpo@star.dk", Role.AUDITOR),
        )
        assert second.status_code == 200 and second.json()["lifted_at"], second.text
        _open(driver, f"{base}/console/retention")
        assert "ophævet" in driver.page_source
        driver.get(f"{base}/console/records")
        wait.until(lambda d: "Datatilsynet" in d.page_source)
        assert "DPIA STAR-2013-04" in driver.page_source
        _shoot(driver, shots, "records-of-processing")
        _open(driver, f"{base}/console/lang/en?next=/console/grants")
        assert "Legal bases in force" in driver.page_source
    # The browser's own records (history, cache, form data, session) hold no CPR either.
    for path in profile.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(s.encode() in data for s in shapes), path


def test_held_aggregates_get_independent_blind_votes(tmp_path: Path, synthetic: Synthetic) -> None:
    from tests.integration.test_aggregates_api import (
        SERVICES_SUM,
        _ssr_with_a_negative_value,
        approved,
        run,
    )

    with serving_gateway(tmp_path / "var") as gw:
        for dataset in ("dfdg-indsats", "ssr"):
            f = synthetic.files[dataset]
            body = _ssr_with_a_negative_value(synthetic) if dataset == "ssr" else None
            assert gw.push(f.source, dataset, body or synthetic.bytes(dataset)).status_code == 201
        held = run(gw, "star-statistik", approved(gw, "star-statistik", SERVICES_SUM)).json()
        assert held["status"] == "pending-review"
        base = str(gw.client.base_url).rstrip("/")
        action = f"{base}/console/releases/{held['id']}/release"
        with closing(_login(base, "jurist")) as first:
            page = first.get(f"{base}/console/").text
            assert f'id="votes-{held["id"]}"' in page and "0 / 2" in page
            assert "negative" in page and "<caption>" in page  # the checker's report, by cell
            voted = first.post(action, data={"csrf": _csrf(page), "note": "checked"})
            assert voted.status_code == 200 and "1 / 2" in voted.text
            assert f'action="/console/releases/{held["id"]}/release"' not in voted.text
        with closing(_login(base, "jurist2")) as colleague:
            page = colleague.get(f"{base}/console/").text
            assert "1 / 2" in page and "checked" not in page  # nothing of the first vote
            # The first voter's colleague (same organisation and unit) is not a second pair.
            refused = colleague.post(action, data={"csrf": _csrf(page)})
            assert "four-eyes" in refused.text and "1 / 2" in refused.text
        # Before the decision, the audit trail shows that a vote was cast, not by whom or how.
        dpo = gw.auth("dpo@hub-dpo", Role.AUDITOR)
        voted_entries = gw.client.get(
            "/v1/audit/entries", params={"event_type": "release.voted"}, headers=dpo
        ).json()["entries"]
        assert voted_entries and all("jurist" not in json.dumps(e) for e in voted_entries)
        assert all("checked" not in json.dumps(e) for e in voted_entries)
        with closing(_login(base, "dpo")) as second:
            page = second.get(f"{base}/console/").text
            assert "1 / 2" in page and "checked" not in page  # nothing of the first vote
            done = second.post(action, data={"csrf": _csrf(page)})
            assert done.status_code == 200 and f'id="votes-{held["id"]}"' not in done.text
            # Decided: the outcome, and now every vote with its note.
            assert "Afgjort: udleveret" in done.text, done.text[:3000]
            assert "person:jurist" in done.text and '"checked"' in done.text
            # The releases page links each aggregate to its checker's report, in words.
            listing = second.get(f"{base}/console/releases").text
            assert f'href="/console/releases/{held["id"]}/report"' in listing
            report = second.get(f"{base}/console/releases/{held['id']}/report")
            assert report.status_code == 200 and "negative værdier" in report.text
            assert "kræver manuel kontrol" in report.text or "bestået" in report.text
        # Decided: the decision entry opens every vote, with its note.
        decided = gw.client.get(
            "/v1/audit/entries", params={"event_type": "release.review-released"}, headers=dpo
        ).json()["entries"]
        assert "hub-legal/legal/person:jurist" in json.dumps(decided)
        assert "checked" in json.dumps(decided)
        release = gw.client.get(
            f"/v1/releases/{held['id']}", headers=gw.auth("star-statistik", Role.RECIPIENT)
        ).json()
        assert release["status"] == "released"


def test_search_filters_stay_out_of_the_address_and_a_refused_one_out_of_the_page(
    console: Gateway,
) -> None:
    """The audit search is a form posted to the gateway: filters are kept in the session,
    never in the address (nor so in the browser's history); a CPR typed as a filter is
    refused, and not written back into the page."""
    base = str(console.client.base_url).rstrip("/")
    with closing(_login(base, "dpo")) as browser:
        token = _csrf(browser.get(f"{base}/console/audit").text)
        for cpr in ("0101801234", "010180–1234", "01.01.80-1234", "&#48;101801234"):
            refused = browser.post(
                f"{base}/console/audit", data={"csrf": token, "actor": cpr, "range": "30d"}
            )
            assert refused.status_code == 422, (cpr, refused.status_code)
            assert "0101801234" not in refused.text and "1801234" not in refused.text
            assert "1234" not in str(refused.url)
        found = browser.post(f"{base}/console/audit", data={"csrf": token, "category": "refusals"})
        assert found.status_code == 200 and found.history[0].status_code == 303
        assert str(found.url) == f"{base}/console/audit" and 'id="total"' in found.text
        csv_ = browser.get(f"{base}/console/audit.csv")
        assert csv_.status_code == 200 and csv_.text.startswith("index,time,type")


def test_an_expired_grant_is_marked_and_no_longer_decides(tmp_path: Path) -> None:
    """A grant past its valid_to: marked on the grants page, and a request under it refused by
    the legal-basis rule."""
    from tests.conftest import edited_policies

    policies = edited_policies(
        tmp_path / "policies",
        {
            "grants/star-analyse.yaml": (
                "    columns: [contact_start, contact_end, contact_type, diagnosis_chapter]\n"
                "    valid_from: 2013-01-01\n",
                "    columns: [contact_start, contact_end, contact_type, diagnosis_chapter]\n"
                "    valid_from: 2013-01-01\n    valid_to: 2020-12-31\n",
            )
        },
    )
    with serving_gateway(tmp_path / "var", policies_dir=policies) as gw:
        base = str(gw.client.base_url).rstrip("/")
        with closing(_login(base, "dpo")) as browser:
            page = browser.get(f"{base}/console/grants").text
        row = re.search(
            r"<small>star-analyse-lpr</small></td>(?:(?!</tr>).)*?<strong>([^<]+)</strong>",
            page,
            re.S,
        )
        assert row is not None and row[1].startswith("Udløbet"), page[:2000]
        r = gw.client.post(
            "/v1/extracts", json=LINKED, headers=gw.auth("star-analyse", Role.RECIPIENT)
        )
        assert r.status_code == 403
        denied = [d for d in r.json()["decision"]["datasets"] if not d["allowed"]]
        assert [d["dataset"] for d in denied] == ["lpr"]
        assert denied[0]["deciding_rule"] == "legal-basis"
