"""The report's words in Danish, with the English beside, and numbers as a Danish reader
writes them (18.462 persons, 55,6 %). The bundle's CSV and JSON keep the plain English keys
and raw codes that programs read; the page and the charts use these labels."""

from __future__ import annotations

TOTAL = "Total"

# Category codes and levels as delivered or computed -> (Danish, English).
TERMS: dict[str, tuple[str, str]] = {
    # employment offers (dfdg-indsats offer_type)
    "vejledning_opkvalificering": ("vejledning og opkvalificering", "guidance and upskilling"),
    "virksomhedspraktik": ("virksomhedspraktik", "work placement"),
    "loentilskud": ("løntilskud", "wage subsidy"),
    "mentor": ("mentor", "mentor"),
    "any employment offer": ("mindst ét beskæftigelsestilbud", "any employment offer"),
    # areas and their combinations
    "employment": ("beskæftigelse", "employment"),
    "social": ("social", "social"),
    "health": ("sundhed", "health"),
    "only": ("kun", "only"),
    "all three": ("alle tre områder", "all three areas"),
    "no offer": ("intet tilbud", "no offer"),
    # timing
    "parallel": ("samtidige tilbud", "parallel offers"),
    "sequential": ("tilbud efter hinanden", "sequential offers"),
    "single offer": ("ét tilbud", "a single offer"),
    # status 13 weeks after
    "ordinary job": ("ordinær beskæftigelse", "ordinary job"),
    "flexjob": ("fleksjob", "flexjob"),
    "disability pension": ("førtidspension", "disability pension"),
    "other": ("andet", "other"),
    "no status recorded": ("ingen status registreret", "no status recorded"),
    TOTAL: ("I alt", "Total"),
}

# Headline figures and their bases, by the English key the JSON keeps.
FIGURES: dict[str, str] = {
    "persons in a resource course": "Personer i ressourceforløb",
    "in at least one employment offer": "I mindst ét beskæftigelsestilbud",
    "employment offer": "Beskæftigelsestilbud",
    "offers from more than one area": "Tilbud fra mere end ét område",
    "offers from one area only": "Tilbud fra kun ét område",
    "areas": "Områder",
    "timing": "Tidsforløb",
    "courses ended (13-week follow-up)": "Afsluttede forløb (opfølgning efter 13 uger)",
    "13 weeks after": "13 uger efter",
    "all persons in a course": "alle personer i forløb",
    "persons in a course": "personer i forløb",
    "courses with an offer, municipalities with social data": (
        "forløb med tilbud, kommuner med sociale data"
    ),
    "courses, municipalities with social data": "forløb, kommuner med sociale data",
    "ended courses": "afsluttede forløb",
}

HEADINGS: dict[str, tuple[str, str]] = {
    "employment-offers": (
        "Andel af personer i ressourceforløb med et beskæftigelsestilbud, efter type",
        "Share of persons in a resource course with an employment offer, by offer type",
    ),
    "area-combinations": (
        "De områder, et forløbs tilbud kommer fra",
        "Areas the offers of a course come from",
    ),
    "offer-timing": ("Tidsforløbet af tilbuddene i et forløb", "Timing of the offers in a course"),
    "status-13-weeks": (
        "Status 13 uger efter forløbets afslutning",
        "Status 13 weeks after the course ended",
    ),
    "persons-in-course": (
        "Personer i ressourceforløb efter kommune",
        "Persons in a resource course by municipality",
    ),
}


def term(code: str, lang: str = "da") -> str:
    """A level or code in words; a combination ("employment + social", "health only") is
    put together from its parts; an unknown code is shown as it is."""
    index = 0 if lang == "da" else 1
    if code in TERMS:
        return TERMS[code][index]
    if code.endswith(" only"):
        area = term(code[: -len(" only")], lang)
        return f"{TERMS['only'][0]} {area}" if lang == "da" else f"{area} only"
    if " + " in code:
        return " + ".join(term(part, lang) for part in code.split(" + "))
    return code


def bilingual(code: str) -> str:
    """``dansk (english)``, or the one word when both are the same."""
    da, en = term(code, "da"), term(code, "en")
    return da if da == en else f"{da} ({en})"


def figure(name: str, lang: str = "da") -> str:
    """A headline figure's name (``key: level`` figures translate both parts)."""
    key, _, level = name.partition(": ")
    head = FIGURES.get(key, key) if lang == "da" else key
    return f"{head}: {term(level, lang)}" if level else head


def basis(name: str) -> str:
    return FIGURES.get(name, name)


def number(value: float | int | None) -> str:
    """18.462: thousands separated by a full stop, as Danish writes them."""
    if value is None:
        return "-"
    return f"{int(value):,}".replace(",", ".")


def percent(value: float | None) -> str:
    """55,6 %: one decimal, a decimal comma and a space before the sign."""
    if value is None:
        return "-"
    return f"{value:.1f}\u00a0%".replace(".", ",")  # the sign never wraps onto a line alone
