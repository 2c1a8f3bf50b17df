"""The console's words for the machine's codes: purposes, populations, policy rules and their
outcomes, statuses, audit events, quality flags and the disclosure checker's findings, in
Danish (the default) and English.

One catalogue, so a page never shows ``statistics-only`` or ``delivery.accepted`` to a DPO:
templates call ``code(kind, value)``, and ``tests/unit/test_console_codes.py`` checks that
every code the domain can produce has both texts here, and that no rendered page shows a raw
code. A code missing here still renders (as itself, so nothing is hidden), but fails that test.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CODES: dict[str, dict[str, tuple[str, str]]] = {
    "purpose": {
        "statistics": ("statistik", "statistics"),
        "analysis": ("analyse", "analysis"),
        "administration": ("administration (sagsbehandling)", "administration (casework)"),
    },
    "output": {
        "microdata": ("data på personniveau", "person-level data"),
        "aggregate": ("tabeller", "tables"),
    },
    "population": {
        "persons-in-resource-course": (
            "personer i ressourceforløb i perioden",
            "persons in a resource course in the period",
        ),
        "own-citizens-in-resource-course": (
            "kommunens egne borgere i ressourceforløb",
            "the municipality's own citizens in a resource course",
        ),
        "everyone": ("alle personer i de leverede data", "every person in the delivered data"),
    },
    "rule": {
        "restricted-dataset": ("Videregivelsesforbud", "Restricted dataset"),
        "purpose-binding": ("Formålsbinding", "Purpose binding"),
        "legal-basis": ("Hjemmel", "Legal basis"),
        "grant-output": ("Udleveringsform", "Form of output"),
        "grant-population": ("Population", "Population"),
        "grant-columns": ("Variabler", "Columns"),
        "grant-identifier": ("CPR-nummer", "CPR number"),
        "allow": ("Samlet vurdering", "Overall"),
    },
    "outcome": {
        "pass": ("opfyldt", "met"),
        "allow": ("tilladt", "allowed"),
        "deny": ("afvist", "refused"),
    },
    "extract_status": {
        "pending-approval": ("venter på godkendelse", "awaiting approval"),
        "approved": ("godkendt", "approved"),
        "rejected": ("afvist", "rejected"),
        "returned": ("sendt tilbage til ændring", "returned for changes"),
    },
    "release_status": {
        "released": ("udleveret", "released"),
        "pending-review": ("venter på manuel kontrol", "awaiting review"),
        "withheld": ("tilbageholdt", "withheld"),
        "refused": ("afvist af kontrollen", "refused by the checker"),
    },
    "build_state": {
        "running": ("under kørsel", "running"),
        "built": ("dannet", "built"),
        "failed": ("mislykkedes, intet udleveret", "failed, nothing released"),
        "interrupted": ("afbrudt, intet udleveret", "interrupted, nothing released"),
    },
    "engine": {
        "local": ("gatewayens egen proces", "the gateway's own process"),
        "spark": ("Apache Spark", "Apache Spark"),
    },
    "sdc_status": {
        "pass": ("bestået", "passed"),
        "review": ("kræver manuel kontrol", "needs review"),
        "fail": ("ikke bestået", "failed"),
    },
    "finding": {
        "ok": ("i orden", "fine"),
        "threshold": ("for få personer", "too few persons"),
        "zeros": ("nul-celle", "zero cell"),
        "nk-rule": ("domineret af få bidrag", "dominated by few contributors"),
        "p-ratio": ("for præcist skøn over største bidrag", "largest contribution too exact"),
        "negative": ("negative værdier", "negative values"),
        "missing": ("manglende værdier", "missing values"),
        "secondary": ("skjult for at beskytte en anden celle", "hidden to protect another cell"),
        "differencing": (
            "tæt på en allerede offentliggjort celle",
            "close to a cell already published",
        ),
        "perturbed-below-threshold": (
            "støjlagt tal under tærsklen",
            "perturbed count below the threshold",
        ),
        "protection": (
            "skjult, da et skøn ellers ville være for snævert",
            "hidden: an estimate would be too narrow",
        ),
    },
    "quality_status": {
        "ok": ("i orden", "no findings"),
        "flagged": ("markeret", "flagged"),
        "missing": ("ikke leveret", "not delivered"),
        "unknown": ("uden kvalitetsrapport", "no quality report"),
    },
    "quality_flag": {
        "low-completeness": ("ufuldstændig kolonne", "incomplete column"),
        "below-minimum": ("værdier under minimum", "values below the minimum"),
        "partial-coverage": ("ikke alle kommuner", "not every municipality"),
        "events-outside-period": ("hændelser uden for måneden", "events outside the month"),
        "duplicate-events": ("gentagne rækker", "repeated rows"),
        "rows-changed": ("antal rækker ændret", "number of rows changed"),
        "persons-changed": ("antal personer ændret", "number of persons changed"),
        "municipalities-lost": ("kommuner faldet bort", "municipalities lost"),
        "municipality-changed": ("en kommunes tal ændret", "a municipality's figures changed"),
    },
    "delivery_status": {
        "accepted": ("modtaget", "accepted"),
        "held": ("tilbageholdt til bekræftelse", "held for confirmation"),
        "withdrawn": ("trukket tilbage", "withdrawn"),
        "discarded": ("kasseret", "discarded"),
        "erased": ("slettet", "erased"),
    },
    "audit_category": {
        "deliveries": ("leverancer", "deliveries"),
        "refusals": ("afvisninger", "refusals"),
        "approvals": ("godkendelser og stemmer", "approvals and votes"),
        "releases": ("udleveringer", "releases"),
        "pulls": ("hentninger", "collections"),
        "lookups": ("opslag og kontrol af sporet", "lookups and checks of the trail"),
        "keys-and-policy": ("nøgler og regelsæt", "keys and policy set"),
        "retention": ("opbevaring og sletning", "retention and erasure"),
    },
    "range": {
        "7d": ("de sidste 7 dage", "the last 7 days"),
        "30d": ("de sidste 30 dage", "the last 30 days"),
        "last-month": ("sidste måned", "last month"),
        "this-year": ("i år", "this year"),
    },
    "event": {
        "delivery.accepted": ("levering modtaget", "delivery accepted"),
        "delivery.rejected": ("levering afvist (fejl i filen)", "delivery rejected (file errors)"),
        "delivery.refused": ("levering nægtet", "delivery refused"),
        "delivery.reinstated": ("tidligere version gjort gældende", "earlier version reinstated"),
        "delivery.withdrawn": ("levering trukket tilbage", "delivery withdrawn"),
        "delivery.held": ("levering tilbageholdt", "delivery held"),
        "delivery.confirmed": ("levering bekræftet", "delivery confirmed"),
        "delivery.discarded": ("tilbageholdt levering kasseret", "held delivery discarded"),
        "extract.requested": ("udtræk bestilt", "extract requested"),
        "extract.refused": ("udtræk nægtet", "extract refused"),
        "extract.approved": ("udtræk godkendt", "extract approved"),
        "extract.rejected": ("udtræk afvist", "extract rejected"),
        "extract.returned": ("udtræk sendt tilbage", "extract returned"),
        "approval.refused": ("godkendelse nægtet", "approval refused"),
        "release.created": ("udlevering dannet", "release created"),
        "release.refused": ("udlevering afvist af kontrollen", "release refused by the checker"),
        "release.pulled": ("udlevering hentet", "release collected"),
        "release.held-for-review": ("udlevering til manuel kontrol", "release held for review"),
        "release.review-released": ("udleveret efter kontrol", "released after review"),
        "release.withheld": ("tilbageholdt efter kontrol", "withheld after review"),
        "release.voted": ("stemme afgivet", "vote cast"),
        "release.review-conflicted": ("uenige stemmer", "votes disagree"),
        "release.vote-changed": ("stemme ændret", "vote changed"),
        "access.refused": ("adgang nægtet", "access refused"),
        "policy.loaded": ("regelsæt indlæst", "policy set loaded"),
        "keys.initialised": ("nøgler oprettet", "keys created"),
        "keys.rotated": ("nøgler udskiftet", "keys rotated"),
        "keys.rewrapped": ("datanøgler genindpakket", "data keys rewrapped"),
        "audit.searched": ("revisionsspor søgt", "audit trail searched"),
        "audit.subject-lookup": ("borgeropslag", "citizen lookup"),
        "audit.exported": ("revisionsspor eksporteret", "audit trail exported"),
        "audit.verified": ("revisionsspor verificeret", "audit trail verified"),
        "console.login": ("logget ind i konsollen", "logged in to the console"),
        "console.logout": ("logget ud af konsollen", "logged out of the console"),
        "sessions.revoked": ("sessioner afbrudt", "sessions revoked"),
        "retention.erased": ("slettet efter opbevaringsregel", "erased by retention rule"),
        "retention.hold-placed": ("sletning stoppet (retlig hold)", "legal hold placed"),
        "retention.hold-lift-requested": ("ophævelse af hold anmodet", "hold lift requested"),
        "retention.hold-lifted": ("hold ophævet", "legal hold lifted"),
        "retention.deletion-requested": ("modtager bedt om sletning", "recipient asked to delete"),
        "retention.deletion-reminded": ("rykker for sletning", "deletion reminder"),
        "retention.deletion-confirmed": ("sletning bekræftet", "deletion confirmed"),
        "records.approved": ("fortegnelse godkendt", "records of processing approved"),
    },
}


def code(kind: str, value: object, lang: str) -> str:
    """The words for ``value`` of ``kind`` in ``lang``; the code itself when it has none (a
    test fails for that, but a page never hides what the record says)."""
    words = CODES.get(kind, {}).get(str(value))
    if words is None:
        return str(value)
    return words[1] if lang == "en" else words[0]


def rule_explanation(rule: str, outcome: str, lang: str) -> str:
    """One sentence in the reader's language for a policy rule's outcome (the rule's own
    reason, with names and citations, is shown beside it)."""
    words = RULE_SENTENCES.get((rule, "deny" if outcome == "deny" else "pass"))
    if words is None:
        return code("rule", rule, lang)
    return words[1] if lang == "en" else words[0]


RULE_SENTENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("restricted-dataset", "pass"): (
        "Datasættet må videregives.",
        "The dataset may be passed on.",
    ),
    ("restricted-dataset", "deny"): (
        "Datasættet må ikke videregives i nogen form.",
        "The dataset may not be passed on in any form.",
    ),
    ("purpose-binding", "pass"): (
        "Formålet er et af dem, datasættet må bruges til.",
        "The purpose is one the dataset may be used for.",
    ),
    ("purpose-binding", "deny"): (
        "Datasættet må ikke bruges til dette formål.",
        "The dataset may not be used for this purpose.",
    ),
    ("legal-basis", "pass"): (
        "En bevilling i kraft giver modtageren hjemmel.",
        "A grant in force gives the recipient a legal basis.",
    ),
    ("legal-basis", "deny"): (
        "Ingen bevilling i kraft giver modtageren hjemmel.",
        "No grant in force gives the recipient a legal basis.",
    ),
    ("grant-output", "deny"): (
        "Bevillingen tillader ikke denne udleveringsform.",
        "The grant does not allow this form of output.",
    ),
    ("grant-population", "deny"): (
        "Bevillingen dækker ikke den ønskede population.",
        "The grant does not cover the population asked for.",
    ),
    ("grant-columns", "deny"): (
        "Bevillingen dækker ikke alle de ønskede variabler.",
        "The grant does not cover every column asked for.",
    ),
    ("grant-identifier", "deny"): (
        "Bevillingen tillader ikke CPR-numre; modtageren får pseudonymer.",
        "The grant does not allow CPR numbers; the recipient gets pseudonyms.",
    ),
    ("allow", "pass"): (
        "Modtageren må få data til formålet under bevillingen.",
        "The recipient may receive the data for the purpose under the grant.",
    ),
}


def local_minute(stamp: object) -> str:
    """An ISO time from the records as the reader's clock shows it, to the minute
    (Copenhagen time; UTC where the machine has no time-zone data). Dates pass unchanged."""
    text = str(stamp or "")
    if len(text) <= 10:
        return text
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        zone: dt.tzinfo = ZoneInfo("Europe/Copenhagen")
    except ZoneInfoNotFoundError:
        zone = dt.UTC
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
