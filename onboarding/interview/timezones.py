"""Time zones from what people say: "Pacific time", "CET", "UTC plus two", "London", "Kyoto".

Values are IANA names when a place or a named zone is given (so scheduling code can use zoneinfo)
and "UTC+H[:MM]" for bare offsets. The table of places and zone names is small and common, and sure; a country
counts when the tz database gives it one zone ("Ireland": Europe/Dublin; not "Canada"); any other city of 100,000
people or more is a guess, read back (`city_zone`). Anything else is None so the interviewer re-asks rather than
guessing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import phonenumbers
import pytz
from phonenumbers.timezone import time_zones_for_number

from onboarding.interview.spoken import find_numbers, folded, tokens

# Longest phrases are tried first, so "central european" wins over "central".
ZONES: dict[str, str] = {
    "pacific": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
    "pt": "America/Los_Angeles", "west coast": "America/Los_Angeles",
    "mountain": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver",
    "central": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago",
    "eastern": "America/New_York", "est": "America/New_York", "edt": "America/New_York",
    "et": "America/New_York", "east coast": "America/New_York",
    "atlantic": "America/Halifax",
    "utc": "UTC", "coordinated universal": "UTC", "zulu": "UTC",
    "gmt": "Europe/London", "greenwich": "Europe/London", "british": "Europe/London", "bst": "Europe/London",
    "uk": "Europe/London", "irish": "Europe/Dublin",
    "central european": "Europe/Berlin", "cet": "Europe/Berlin", "cest": "Europe/Berlin",
    "eastern european": "Europe/Athens", "eet": "Europe/Athens", "western european": "Europe/Lisbon",
    "india": "Asia/Kolkata", "indian": "Asia/Kolkata", "ist": "Asia/Kolkata",
    "japan": "Asia/Tokyo", "jst": "Asia/Tokyo", "korea": "Asia/Seoul", "china": "Asia/Shanghai",
    "aest": "Australia/Sydney", "australian eastern": "Australia/Sydney", "new zealand": "Pacific/Auckland",
    "brazil": "America/Sao_Paulo", "germany": "Europe/Berlin", "france": "Europe/Paris", "spain": "Europe/Madrid",
    "netherlands": "Europe/Amsterdam", "singapore": "Asia/Singapore", "hong kong": "Asia/Hong_Kong",
    "london": "Europe/London", "manchester": "Europe/London", "edinburgh": "Europe/London",
    "dublin": "Europe/Dublin", "lisbon": "Europe/Lisbon", "paris": "Europe/Paris", "berlin": "Europe/Berlin",
    "munich": "Europe/Berlin", "madrid": "Europe/Madrid", "barcelona": "Europe/Madrid", "rome": "Europe/Rome",
    "milan": "Europe/Rome", "amsterdam": "Europe/Amsterdam", "brussels": "Europe/Brussels",
    "zurich": "Europe/Zurich", "vienna": "Europe/Vienna", "stockholm": "Europe/Stockholm",
    "oslo": "Europe/Oslo", "copenhagen": "Europe/Copenhagen", "helsinki": "Europe/Helsinki",
    "warsaw": "Europe/Warsaw", "prague": "Europe/Prague", "athens": "Europe/Athens",
    "istanbul": "Europe/Istanbul", "moscow": "Europe/Moscow", "kyiv": "Europe/Kyiv", "kiev": "Europe/Kyiv",
    "new york": "America/New_York", "boston": "America/New_York", "miami": "America/New_York",
    "atlanta": "America/New_York", "toronto": "America/Toronto", "montreal": "America/Toronto",
    "washington": "America/New_York", "chicago": "America/Chicago", "austin": "America/Chicago",
    "dallas": "America/Chicago", "houston": "America/Chicago", "denver": "America/Denver",
    "phoenix": "America/Phoenix", "los angeles": "America/Los_Angeles", "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles", "portland": "America/Los_Angeles", "vancouver": "America/Vancouver",
    "bay area": "America/Los_Angeles", "mexico city": "America/Mexico_City", "sao paulo": "America/Sao_Paulo",
    "são paulo": "America/Sao_Paulo", "buenos aires": "America/Argentina/Buenos_Aires",
    "bogota": "America/Bogota", "lima": "America/Lima", "santiago": "America/Santiago",
    "dubai": "Asia/Dubai", "mumbai": "Asia/Kolkata", "bangalore": "Asia/Kolkata", "bengaluru": "Asia/Kolkata",
    "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata", "karachi": "Asia/Karachi", "tokyo": "Asia/Tokyo",
    "seoul": "Asia/Seoul", "beijing": "Asia/Shanghai", "shanghai": "Asia/Shanghai", "taipei": "Asia/Taipei",
    "manila": "Asia/Manila", "jakarta": "Asia/Jakarta", "bangkok": "Asia/Bangkok", "sydney": "Australia/Sydney",
    "melbourne": "Australia/Melbourne", "brisbane": "Australia/Brisbane", "perth": "Australia/Perth",
    "auckland": "Pacific/Auckland", "cairo": "Africa/Cairo", "lagos": "Africa/Lagos", "nairobi": "Africa/Nairobi",
    "johannesburg": "Africa/Johannesburg", "cape town": "Africa/Johannesburg", "tel aviv": "Asia/Jerusalem",
}
# Where callers answer with their state or province ("I'm in Ohio"): its zone, or the one most of its people keep
# (Florida's panhandle, West Texas and East Tennessee aside). "Georgia" stays out (a country too), "Victoria" (a name,
# a city in Canada) too.
_E, _C, _M, _P = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
STATES: dict[str, str] = {
    "alabama": _C, "alaska": "America/Anchorage", "arizona": "America/Phoenix", "arkansas": _C, "california": _P,
    "colorado": _M, "connecticut": _E, "delaware": _E, "florida": _E, "hawaii": "Pacific/Honolulu", "idaho": _M,
    "illinois": _C, "indiana": _E, "iowa": _C, "kansas": _C, "kentucky": _E,
    "louisiana": _C, "maine": _E, "maryland": _E, "massachusetts": _E, "michigan": _E,
    "minnesota": _C, "mississippi": _C, "missouri": _C, "montana": _M, "nebraska": _C, "nevada": _P,
    "new hampshire": _E, "new jersey": _E, "new mexico": _M, "new york state": _E, "north carolina": _E,
    "north dakota": _C, "ohio": _E, "oklahoma": _C, "oregon": _P, "pennsylvania": _E, "rhode island": _E,
    "south carolina": _E, "south dakota": _C, "tennessee": _C, "texas": _C, "utah": _M, "vermont": _E,
    "virginia": _E, "west virginia": _E, "washington state": _P, "wisconsin": _C, "wyoming": _M,
    "dc": _E, "d c": _E, "puerto rico": "America/Puerto_Rico",
    "ontario": "America/Toronto", "quebec": "America/Toronto", "british columbia": "America/Vancouver",
    "alberta": "America/Edmonton", "manitoba": "America/Winnipeg", "saskatchewan": "America/Regina",
    "nova scotia": "America/Halifax", "new brunswick": "America/Halifax", "newfoundland": "America/St_Johns",
    "new south wales": "Australia/Sydney", "queensland": "Australia/Brisbane", "western australia": "Australia/Perth",
    "south australia": "Australia/Adelaide", "tasmania": "Australia/Hobart", "northern territory": "Australia/Darwin",
    # parts of the UK ("Northern Ireland" is not Ireland's zone: it was heard as Europe/Dublin)
    "northern ireland": "Europe/London", "scotland": "Europe/London", "wales": "Europe/London",
    "england": "Europe/London", "britain": "Europe/London", "great britain": "Europe/London",
}
ZONES = STATES | ZONES
# Whisper often hears a spelled zone's final "T" as "D" ("PSD", "ESD", "UDC"); none of these is a zone itself.
ZONES |= {"psd": ZONES["pst"], "msd": ZONES["mst"], "csd": ZONES["cst"], "esd": ZONES["est"], "udc": ZONES["utc"],
          "ced": ZONES["cet"]}
# Country names that are also a US state, a place in another country or a word ("New Jersey", "Georgia" for Atlanta).
_NOT_COUNTRIES = {"georgia", "jersey", "jordan", "chad", "turkey", "guernsey", "niger", "guinea", "congo", "korea",
                  "samoa", "virgin islands", "st martin", "st maarten"}


def _country_zone(code: str) -> str | None:
    """The country's zone when the tz database gives it exactly one."""
    zones = pytz.country_timezones.get(code.lower(), [])
    return zones[0] if len(zones) == 1 else None


def _countries() -> dict[str, str]:
    """Country name (lower case, without what the tz database adds in brackets: "Britain (UK)" is "britain";
    "Korea (South)" would make "south" Seoul) -> its one zone."""
    named: dict[str, str] = {}
    for code, name in pytz.country_names.items():
        said = re.sub(r"\s*\(.*\)", "", name).lower()
        if (zone := _country_zone(code)) and said not in _NOT_COUNTRIES:
            named.setdefault(said, zone)
    return named


ZONES = _countries() | ZONES  # the table's own places and zone names first ("brazil", "india")

# The world's cities of 100,000 people or more (GeoNames, written by scripts/city_zones.py): a place the table above
# does not name ("Kyoto.", "Trondheim.") is one of them. Heard as a guess, so read back ("I heard Tokyo time").
CITY_ZONES_PATH = Path(__file__).resolve().parents[2] / "data" / "city_zones.tsv"
CITY_CONFIDENCE = 0.5
# One-word city names that are common English words ("Time", Norway; "Reading", "Nice", "Mobile", "Union") are no
# city when said alone: the most frequent words of SymSpell's English list, the one spacing.py reads.
_COMMON_WORD_COUNT = 4000
# Parts of a country callers name instead of it ("Swansea, in Wales"): they pick among cities of one name.
_REGIONS = {"wales": "GB", "scotland": "GB", "england": "GB", "northern ireland": "GB"}


class City(NamedTuple):
    zone: str
    country: str


def _load_cities(path: Path) -> dict[str, list[City]]:
    """Name -> its cities, most populous first (the file's order)."""
    cities: dict[str, list[City]] = {}
    with path.open(encoding="utf-8") as rows:
        for row in rows:
            if not row.startswith("#"):
                name, zone, country, _ = row.rstrip("\n").split("\t")
                cities.setdefault(name, []).append(City(zone, country))
    return cities


def _common_words() -> frozenset[str]:
    from onboarding.interview.spacing import _WORD_LIST

    with _WORD_LIST.open(encoding="utf-8") as lines:
        return frozenset(line.split(" ", 1)[0] for line in islice(lines, _COMMON_WORD_COUNT))


_CITIES = _load_cities(CITY_ZONES_PATH)
_COMMON_WORDS = _common_words()
_COUNTRY_CODES = {re.sub(r"\s*\(.*\)", "", name).lower(): code for code, name in pytz.country_names.items()} | _REGIONS


def city_zone(words: list[str]) -> str | None:
    """The zone of the city the words name, the longest name first ("San Jose" before "Jose"), in the country they
    name too when several cities have that name ("Swansea, in Wales"), else the most populous; None for none. A
    city named like a common word counts only beside its country ("Reading, in England")."""
    said = " " + " ".join(words) + " "
    countries = {code for name, code in _COUNTRY_CODES.items() if f" {name} " in said}
    for size in (3, 2, 1):
        for start in range(len(words) - size + 1):
            name = " ".join(words[start:start + size])
            cities = _CITIES.get(name, [])
            in_country = [city for city in cities if city.country in countries]
            if in_country:
                return in_country[0].zone
            if cities and not (size == 1 and name in _COMMON_WORDS):  # "Reading" alone is a word, not a city
                return cities[0].zone
    return None
_PHRASES = sorted(ZONES, key=len, reverse=True)
_OFFSET = re.compile(r"\b(?:utc|udc|gmt|u t c|g m t)\s*(?P<sign>\+|-|plus|minus)\s*(?P<rest>.+)$", re.IGNORECASE)


def _offset(text: str) -> str | None:
    match = _OFFSET.search(text.replace("−", "-"))
    if not match:
        return None
    sign = "+" if match.group("sign") in ("+", "plus") else "-"
    rest = match.group("rest")
    clock = re.match(r"(\d{1,2})(?::(\d{2}))?(?!\d)", rest)  # not "530": that is "five thirty", below
    if clock:
        hours, minutes = int(clock.group(1)), int(clock.group(2) or 0)
    else:
        toks = tokens(rest)
        numbers = find_numbers(toks)
        if not numbers:
            return None
        hours = numbers[0][0]
        minutes = 30 if re.search(r"\b(?:thirty|and a half|half)\b", rest, re.IGNORECASE) else 0
        if numbers[0][0] >= 100 and len(numbers) == 1 and numbers[0][0] % 100 in (0, 30):
            hours, minutes = divmod(numbers[0][0], 100)  # "five thirty" read (or written by Whisper) as 530
    if hours > 14 or minutes >= 60:
        return None
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def normalize_timezone(text: str) -> tuple[str, float] | None:
    """ "Pacific time" -> "America/Los_Angeles"; "UTC plus two" -> "UTC+2"; unknown places -> None."""
    if not text or not text.strip():
        return None
    offset = _offset(text)
    if offset:
        # "UTC plus five thirty. India.": the place's zone when it keeps that offset (a zone knows its summer time),
        # read back when it does not (one of the two was misheard)
        place = _place_zone(_OFFSET_WORDS.sub(" ", text))
        if place is None:
            return offset, 0.9
        return place[0], 0.9 if offset in _offsets_of(place[0]) else CITY_CONFIDENCE
    if _OFFSET.search(text.replace("−", "-")):
        return None  # an offset was said but not understood ("UDC plus by 30"): not the zone without it
    if (concluded := _CONCLUDED.search(text)) and (zone := _place_zone(concluded["place"])):
        return zone  # "… Central, and Portugal, so Lisbon time.": the caller's conclusion, whatever came before
    return _place_zone(text)


# The zone the caller concludes with: "…, so Lisbon time.", "…, which is Eastern time."
_CONCLUDED = re.compile(r"(?:\bso|\bwhich is|\bthat's|\bthat is),?\s+(?P<place>[\w .'-]+?)\s+time\W*$", re.IGNORECASE)


# What says an offset, not a place: taken out before a place beside it is looked for ("GMT" alone is London's)
_OFFSET_WORDS = re.compile(r"\b(?:utc|udc|gmt|u t c|g m t|plus|minus)\b|[+\-−]", re.IGNORECASE)


def _offsets_of(zone: str) -> set[str]:
    """The zone's offsets in winter and in summer, as `_offset` writes one ("UTC+5:30"): either may be meant."""
    found = set()
    for month in (1, 7):
        moment = datetime(datetime.now(UTC).year, month, 1, 12, tzinfo=ZoneInfo(zone))
        minutes = int(moment.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
        sign, minutes = ("+" if minutes >= 0 else "-"), abs(minutes)
        found.add(f"UTC{sign}{minutes // 60}" + (f":{minutes % 60:02d}" if minutes % 60 else ""))
    return found


_COUNTRY_OF_ZONE = {zone: code for code, zones in pytz.country_timezones.items() for zone in zones}


def names_a_place(text: str) -> bool:
    """Whether `text` is all a place's name: a country, region, US state or city ("Texas", "Western Australia")."""
    low = folded(text).strip(" .,")
    return low in _COUNTRY_CODES or low in ZONES or low in _CITIES


def country_of_place(text: str) -> str | None:
    """The country (ISO code) of a place named in `text` ("We're in London, so …" → "GB"), None for none."""
    place = _place_zone(text)
    return _COUNTRY_OF_ZONE.get(place[0]) if place else None


# Zones said by their name or abbreviation, wider than a city: a city said beside one may be more exact
_WIDE = {"pacific", "pst", "pdt", "pt", "west coast", "mountain", "mst", "mdt", "central", "cst", "cdt", "eastern",
         "est", "edt", "et", "east coast", "atlantic", "gmt", "greenwich", "british", "bst", "irish",
         "central european", "cet", "cest", "eastern european", "eet", "western european", "ist", "jst", "aest",
         "australian eastern", "psd", "msd", "csd", "esd"}


def _place_within(rest: str, zone: str) -> str | None:
    """A place named beside a wider zone (`rest` is the text without it) whose own zone keeps the same clock
    all year: the place's zone, the one a careful operator stores; None when there is none or its clock differs
    (then one of the two was misheard, or the caller meant the wider zone)."""
    found = next((ZONES[phrase] for phrase in _PHRASES if f" {phrase} " in rest), None) or city_zone(rest.split())
    if found is None or found == zone or _offsets_of(found) != _offsets_of(zone):
        return None
    return found


def _place_zone(text: str) -> tuple[str, float] | None:
    low = " " + " ".join(tokens(folded(text).replace(".", " "))) + " "
    for phrase in _PHRASES:
        if f" {phrase} " in low:
            if phrase in STATES and (city := city_zone(low.replace(f" {phrase} ", " ").split())):
                # "El Paso, Texas": the city's zone, not its state's; read back when they differ (a misheard city)
                return city, 0.9 if city == ZONES[phrase] else CITY_CONFIDENCE
            short = len(phrase) <= 3
            if phrase in _WIDE and (nearer := _place_within(low.replace(f" {phrase} ", " "), ZONES[phrase])):
                return nearer, 0.9  # "Central European. I'm in Vienna.": the city's own zone, the same clock
            return ZONES[phrase], 0.8 if short else 0.9
    zone = city_zone(low.split())
    return (zone, CITY_CONFIDENCE) if zone else None


def speakable_timezone(value: str) -> str:
    """ "America/Los_Angeles" -> "Los Angeles time"; "UTC+5:30" -> "UTC plus 5:30"."""
    if value.startswith("UTC") and len(value) > 3:
        return "UTC " + ("plus " if value[3] == "+" else "minus ") + value[4:]
    return value.rsplit("/", 1)[-1].replace("_", " ") + " time" if "/" in value else value


def zones_of_number(phone: str) -> list[str]:
    """The IANA zones of an international number: its country's when the tz database gives it one ("+353…":
    Europe/Dublin), else those libphonenumber gives it (a US number: its area code's), places only (no Etc/,
    Arctic/ or Antarctica/); none for anything else."""
    if not phone.startswith("+"):
        return []
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return []
    # the calling code's main country ("+44": GB, though libphonenumber files some UK mobiles under Guernsey):
    # libphonenumber gives an Irish mobile London's zones; the tz database gives Ireland one
    if zone := _country_zone(phonenumbers.region_code_for_country_code(number.country_code)):
        return [zone]
    zones = time_zones_for_number(number)
    return [zone for zone in zones if "/" in zone and not zone.startswith(("Arctic/", "Antarctica/", "Etc/"))]


_KNOWN = frozenset(ZONES.values())


def zone_of_number(phone: str) -> str | None:
    """The one time zone a caller's number points to, among those this module names ("+44…": London, "+353…":
    Dublin); None when it points to several (an Australian or a toll-free number)."""
    known = {zone for zone in zones_of_number(phone) if zone in _KNOWN}
    return known.pop() if len(known) == 1 else None
