"""Monthly cost at a given peak concurrency: LiveKit Cloud's plans against self-hosting, from onboarding/pricing.py.

The cloud totals are the pricing module's own (plan fee + overage, as the Usage & cost page computes them); the
self-hosted total is the number of machines the measured capacity needs times data/pricing.toml's server price.
docs/scaling.md embeds the table this prints:

    python -m bench.scaling_costs [--minutes-per-user 500] [--call-minutes 5] [--calls-per-box 3]
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from decimal import Decimal

from onboarding.usage.metering import MonthUsage
from onboarding.usage.monthly import PARTICIPANTS_PER_VOICE_SESSION
from onboarding.usage.pricing import Pricing, load_pricing, money, provider_costs, providers_total, tier_costs

CONCURRENCY_LEVELS = (5, 20, 100, 600)


@dataclass(frozen=True)
class Assumptions:
    minutes_per_user: int = 500  # agent minutes per month per peak-concurrent caller (100 five-minute calls)
    call_minutes: int = 5  # one onboarding call, already a whole number of billed minutes
    calls_per_box: int = 3  # measured: local STT+TTS calls one 2-core worker carries well (docs/benchmark.md)
    calls_per_media_node: int = 200  # assumed, not measured here: audio-only calls per 2-core LiveKit node
    tts_characters_per_call: int = 1500  # the agent's questions and read-backs, for the cloud-speech column


@dataclass(frozen=True)
class CostRow:
    concurrent: int
    calls: int
    agent_minutes: int
    plans: dict[str, Decimal | None]  # plan name → total, None when the plan cannot carry the month
    cheapest_cloud: str
    cheapest_with_workers: Decimal | None  # the cheapest plan plus our own worker machines (local models)
    boxes: int
    self_hosted: Decimal
    cloud_speech: Decimal  # Deepgram + ElevenLabs for the month, on top of either column


def month_usage(concurrent: int, assumptions: Assumptions, *, cloud_speech: bool = False) -> MonthUsage:
    minutes = concurrent * assumptions.minutes_per_user
    calls = math.ceil(minutes / assumptions.call_minutes)
    speech: dict[str, dict] = {}
    if cloud_speech:  # Deepgram streaming bills the connection's wall time: the whole call
        speech = {"stt_seconds": {"deepgram/nova-3": float(minutes * 60)},
                  "tts_characters": {"elevenlabs/eleven_flash_v2_5": calls * assumptions.tts_characters_per_call}}
    return MonthUsage(month="model", sessions=calls, voice_sessions=calls, agent_minutes=minutes,
                      participant_minutes=minutes * PARTICIPANTS_PER_VOICE_SESSION, peak_concurrency=concurrent,
                      **speech)


def worker_boxes(concurrent: int, assumptions: Assumptions) -> int:
    return math.ceil(concurrent / assumptions.calls_per_box)


def self_hosted_boxes(concurrent: int, assumptions: Assumptions) -> int:
    """Worker machines for the calls plus LiveKit media nodes (Redis and PostgreSQL share the first node)."""
    return worker_boxes(concurrent, assumptions) + math.ceil(concurrent / assumptions.calls_per_media_node)


def cost_row(concurrent: int, pricing: Pricing, assumptions: Assumptions) -> CostRow:
    usage = month_usage(concurrent, assumptions)
    cloud = [tier for tier in tier_costs(usage, pricing) if tier.plan is not None]
    plans = {tier.name: tier.total if tier.fits else None for tier in cloud}
    fitting = [tier for tier in cloud if tier.fits and tier.total is not None]
    best = min(fitting, key=lambda tier: tier.total or Decimal(0)) if fitting else None
    boxes = self_hosted_boxes(concurrent, assumptions)
    server = pricing.to_display(pricing.self_hosted.server_per_month, pricing.self_hosted.currency)
    with_workers = best.total + server * worker_boxes(concurrent, assumptions) if best and best.total else None
    speech = providers_total(provider_costs(month_usage(concurrent, assumptions, cloud_speech=True), pricing))
    return CostRow(concurrent=concurrent, calls=usage.voice_sessions, agent_minutes=usage.agent_minutes, plans=plans,
                   cheapest_cloud=best.name if best else "none fits", cheapest_with_workers=with_workers,
                   boxes=boxes, self_hosted=server * boxes, cloud_speech=speech)


def markdown_table(pricing: Pricing, assumptions: Assumptions,
                   levels: tuple[int, ...] = CONCURRENCY_LEVELS) -> str:
    rows = [cost_row(level, pricing, assumptions) for level in levels]
    cur = pricing.display_currency
    plan_names = list(rows[0].plans)
    header = ["peak concurrent", "calls / month", "agent minutes", *[f"Cloud {name}" for name in plan_names],
              "cheapest cloud", "cloud + own workers", "self-hosted machines", "self-hosted", "+ cloud speech (either)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        plans = [money(total, cur) if total is not None else "—" for total in row.plans.values()]
        lines.append("| " + " | ".join([f"{row.concurrent:,}", f"{row.calls:,}", f"{row.agent_minutes:,}", *plans,
                                        row.cheapest_cloud,
                                        money(row.cheapest_with_workers, cur) if row.cheapest_with_workers else "—",
                                        str(row.boxes), money(row.self_hosted, cur),
                                        money(row.cloud_speech, cur)]) + " |")
    return "\n".join(lines)


def assumptions_text(pricing: Pricing, assumptions: Assumptions) -> str:
    server = money(pricing.self_hosted.server_per_month, pricing.self_hosted.currency)
    return (f"Assumptions: {assumptions.minutes_per_user} agent minutes per peak-concurrent user per month, calls of "
            f"{assumptions.call_minutes} minutes; self-hosted = one {server}/month 2-core machine per "
            f"{assumptions.calls_per_box} concurrent calls (measured, local models) plus one LiveKit node per "
            f"{assumptions.calls_per_media_node} calls (assumed); \"—\" = the plan's concurrency cap or its hard "
            f"minute cap is exceeded; \"cloud + own workers\" adds the worker machines a plan still needs when the "
            f"agents run the local models on your machines; cloud speech = Deepgram for the whole call + ElevenLabs at "
            f"{assumptions.tts_characters_per_call:,} characters per call. Amounts in {pricing.display_currency} at "
            f"{pricing.eur_per_usd} EUR/USD (data/pricing.toml).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Assumptions()
    parser.add_argument("--minutes-per-user", type=int, default=defaults.minutes_per_user)
    parser.add_argument("--call-minutes", type=int, default=defaults.call_minutes)
    parser.add_argument("--calls-per-box", type=int, default=defaults.calls_per_box)
    args = parser.parse_args()
    assumptions = Assumptions(minutes_per_user=args.minutes_per_user, call_minutes=args.call_minutes,
                              calls_per_box=args.calls_per_box)
    pricing = load_pricing()
    print(markdown_table(pricing, assumptions))
    print()
    print(assumptions_text(pricing, assumptions))


if __name__ == "__main__":
    main()
