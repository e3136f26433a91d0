"""Reading a /metrics page back: the tests and benchmarks check the counters the worker and the dashboard serve."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        return cls({(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                    for family in text_string_to_metric_families(text) for sample in family.samples})

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; 0 for a labelled series that has not been created yet."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(labels)[label] for sample, labels in self.samples if sample == name and label in dict(labels)}


def scrape(url: str, token: str = "", timeout: float = 5.0) -> Scrape:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return Scrape.parse(response.read().decode())


async def wait_for_scrape(url: str, predicate: Callable[[Scrape], bool], what: str, timeout: float = 60.0) -> Scrape:
    """Scrape until `predicate` holds, with a deadline; the error names what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        page = await asyncio.to_thread(scrape, url)
        if predicate(page):
            return page
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen at {url} within {timeout}s")
        await asyncio.sleep(0.2)  # poll interval
