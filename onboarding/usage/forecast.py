"""Where the month is heading at the current rate: minutes at month end, the day the plan's included minutes run out,
the cost at month end against a budget. Pure functions over the daily series (onboarding.usage.daily).

The rate is the minutes so far over the days so far, today counted whole (on the 10th: ten days), so the forecast
holds still through a day and a quiet morning does not read as a quiet month. A past month is complete: its
"forecast" is what happened, and its cap date the day the minutes actually ran out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from onboarding.usage.monthly import month_bounds


def ordinal(day: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th … 21st, 22nd, 23rd."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


@dataclass(frozen=True)
class MinutesForecast:
    month: str
    days_in_month: int
    days_elapsed: int  # 0 for a future month, the month's length for a past one
    minutes_so_far: int
    month_end_minutes: int
    cumulative: list[int]  # per elapsed day
    projected: list[float]  # per day from the last elapsed day to the month's end, at the current rate
    plan_name: str | None
    included_minutes: int | None
    ran_out_on: date | None  # the day the included minutes were actually used up
    runs_out_on: date | None  # the day they will be at this rate (within this month)

    @property
    def rate_per_day(self) -> float:
        return self.minutes_so_far / self.days_elapsed if self.days_elapsed else 0.0

    @property
    def complete(self) -> bool:
        return self.days_elapsed >= self.days_in_month

    @property
    def sentence(self) -> str:
        """The line the usage page leads with."""
        plan = f"the {self.plan_name} plan's {self.included_minutes:,} minutes" if self.plan_name else ""
        if self.days_elapsed == 0:
            return "This month has not started yet."
        if not self.included_minutes:
            head = f"{self.minutes_so_far:,} agent minutes so far"
            return head + ("." if self.complete else f"; at this rate {self.month_end_minutes:,} by the month's end.")
        if self.ran_out_on:
            return (f"{plan[0].upper()}{plan[1:]} ran out on the {ordinal(self.ran_out_on.day)}"
                    f" ({self.minutes_so_far:,} used{'' if self.complete else ' so far'}).")
        if self.complete:
            return f"{self.minutes_so_far:,} of {plan} used ({self.share_of_cap:.0%})."
        if self.runs_out_on:
            return (f"At this rate {plan} run out on the {ordinal(self.runs_out_on.day)} "
                    f"({self.minutes_so_far:,} used so far, {self.month_end_minutes:,} forecast by the month's end).")
        return (f"At this rate {plan} last the month: {self.month_end_minutes:,} forecast by the month's end "
                f"({self.minutes_so_far:,} used so far, {self.share_of_cap:.0%} of the included minutes).")

    @property
    def share_of_cap(self) -> float:
        return self.minutes_so_far / self.included_minutes if self.included_minutes else 0.0


def days_elapsed(month: str, now: datetime) -> tuple[int, int]:
    """(days so far, days in the month) at `now`: today counts whole."""
    start, end = month_bounds(month)
    length = (end - start).days
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    if now < start:
        return 0, length
    if now >= end:
        return length, length
    return (now - start).days + 1, length


def forecast_minutes(month: str, daily: list[int], now: datetime, plan_name: str | None,
                     included_minutes: int | None) -> MinutesForecast:
    elapsed, length = days_elapsed(month, now)
    start, _ = month_bounds(month)
    cumulative, total = [], 0
    ran_out = None
    for day in range(elapsed):
        total += daily[day]
        cumulative.append(total)
        if included_minutes and ran_out is None and total >= included_minutes:
            ran_out = date(start.year, start.month, day + 1)
    rate = total / elapsed if elapsed else 0.0
    projected = [total + rate * (day - elapsed) for day in range(elapsed, length + 1)] if elapsed < length else []
    month_end = round(total + rate * (length - elapsed)) if elapsed else 0
    runs_out = None
    if included_minutes and ran_out is None and rate > 0 and elapsed < length:
        day = math.ceil(included_minutes / rate)  # cumulative reaches the cap during this day
        if day <= length:
            runs_out = date(start.year, start.month, max(day, elapsed))
    return MinutesForecast(month, length, elapsed, total, month_end, cumulative, projected, plan_name,
                           included_minutes, ran_out, runs_out)


def month_end_amount(so_far: Decimal, elapsed: int, length: int) -> Decimal:
    """A cost so far carried to the month's end at the same daily rate."""
    return so_far * length / elapsed if elapsed else Decimal(0)
