"""Vega-Lite chart specifications (plain dicts) for the console's pages.

Gradio draws them with the vega-embed it bundles (its Altair plot component: no CDN, no Python chart library);
`pages/` wraps a spec for `gr.Plot`. Every chart keeps the value a person looks for visible: bars get their own
scale, a cap far above the data becomes a log axis (symlog: zero stays on it) or a note instead of a flattening
line, and every mark has a tooltip with the exact figure.
"""

from __future__ import annotations

from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier: nothing is fetched
WIDTH, HEIGHT = 520, 220
USED, FORECAST, CAP, WARN = "#2563eb", "#93c5fd", "#dc2626", "#d97706"
LOG_WHEN_CAP_EXCEEDS = 20  # × the data's largest value
RULE_WHEN_CAP_WITHIN = 10  # × the bars' largest value: beyond, the bars would shrink to slivers


def _base(title: str, values: list[dict[str, Any]], width: int = WIDTH, height: int = HEIGHT) -> dict[str, Any]:
    return {"$schema": SCHEMA, "title": {"text": title, "anchor": "start", "fontSize": 13}, "width": width,
            "height": height, "data": {"values": values},
            "config": {"view": {"stroke": None}, "font": "system-ui, sans-serif"},
            # no "open in the Vega editor" menu: it would send the figures to an outside site
            "usermeta": {"embedOptions": {"actions": False}}}


def daily_bars(days: list[int], values: list[float], *, title: str, y_title: str, color: str = USED,
               cap: float | None = None, cap_label: str = "") -> dict[str, Any]:
    """One bar per day of the month on its own scale; a cap drawn as a line only when it is near the bars."""
    data = [{"day": day, "value": value} for day, value in zip(days, values, strict=True)]
    spec = _base(title, data)
    bars = {"mark": {"type": "bar", "color": color, "tooltip": True},
            "encoding": {"x": {"field": "day", "type": "ordinal", "title": "day of month",
                               "axis": {"labelAngle": 0, "values": [d for d in days if d % 5 == 0 or d == 1]}},
                         "y": {"field": "value", "type": "quantitative", "title": y_title},
                         "tooltip": [{"field": "day", "title": "day"}, {"field": "value", "title": y_title}]}}
    peak = max(values, default=0)
    if cap is not None and cap <= max(peak, 1) * RULE_WHEN_CAP_WITHIN:
        rule = {"data": {"values": [{"cap": cap, "label": cap_label}]},
                "layer": [{"mark": {"type": "rule", "color": CAP, "strokeDash": [6, 4]},
                           "encoding": {"y": {"field": "cap", "type": "quantitative"}}},
                          {"mark": {"type": "text", "color": CAP, "align": "left", "dx": 4, "dy": -6, "x": 0},
                           "encoding": {"y": {"field": "cap", "type": "quantitative"},
                                        "text": {"field": "label"}}}]}
        spec["layer"] = [bars, rule]
    else:
        spec.update(bars)
        if cap is not None:
            spec["title"]["subtitle"] = f"{cap_label} is {cap:,.0f}: far above these bars, so not drawn"
    return spec


def month_to_date(cumulative: list[int], projected: list[float], *, cap: int | None, cap_label: str,
                  title: str) -> dict[str, Any]:
    """Minutes used so far (solid), the rest of the month at the current rate (dashed), the plan's included minutes
    (red). A log axis when the cap dwarfs the month, so the line that matters never lies flat on zero."""
    used = [{"day": day + 1, "minutes": minutes, "series": "used so far"} for day, minutes in enumerate(cumulative)]
    start = len(cumulative)
    ahead = [{"day": start + i, "minutes": round(m, 1), "series": "forecast at this rate"}
             for i, m in enumerate(projected) if start + i >= 1]
    top = max([p["minutes"] for p in used + ahead] or [0])
    log_axis = cap is not None and cap > max(top, 1) * LOG_WHEN_CAP_EXCEEDS
    y = {"field": "minutes", "type": "quantitative", "title": "minutes (log scale)" if log_axis else "minutes",
         "scale": {"type": "symlog"} if log_axis else {}}
    lines = {"data": {"values": used + ahead},
             "mark": {"type": "line", "point": True, "tooltip": True},
             "encoding": {"x": {"field": "day", "type": "quantitative", "title": "day of month",
                                "axis": {"tickMinStep": 1, "format": "d"},
                                "scale": {"domain": [1, max(start + len(projected) - 1, start, 2)]}},
                          "y": y,
                          "color": {"field": "series", "type": "nominal", "title": None,
                                    "scale": {"domain": ["used so far", "forecast at this rate"],
                                              "range": [USED, FORECAST]}, "legend": {"orient": "bottom"}},
                          "strokeDash": {"field": "series", "type": "nominal", "legend": None,
                                         "scale": {"domain": ["used so far", "forecast at this rate"],
                                                   "range": [[1, 0], [6, 4]]}},
                          "tooltip": [{"field": "day"}, {"field": "minutes"}, {"field": "series"}]}}
    spec = _base(title, [])
    spec.pop("data")
    layers: list[dict[str, Any]] = [lines]
    if cap is not None:
        layers.append({"data": {"values": [{"cap": cap, "label": cap_label}]},
                       "layer": [{"mark": {"type": "rule", "color": CAP, "strokeDash": [2, 2]},
                                  "encoding": {"y": {"field": "cap", "type": "quantitative"}}},
                                 {"mark": {"type": "text", "color": CAP, "align": "left", "dx": 4, "dy": -6, "x": 0},
                                  "encoding": {"y": {"field": "cap", "type": "quantitative"},
                                               "text": {"field": "label"}}}]})
    spec["layer"] = layers
    return spec


def funnel_bars(rows: list[dict[str, Any]], *, title: str) -> dict[str, Any]:
    """Per field (in interview order): callers who reached it, split by what happened there."""
    order = list(dict.fromkeys(r["field"] for r in rows))
    spec = _base(title, rows, height=max(140, 26 * len(order)))
    spec.update({
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "field", "type": "nominal", "sort": order, "title": None},
            "x": {"field": "callers", "type": "quantitative", "title": "callers", "stack": "zero",
                  "axis": {"tickMinStep": 1, "format": "d"}},
            "color": {"field": "outcome", "type": "nominal", "title": None, "sort": [
                "answered first time", "answered after a re-ask or fix", "skipped", "flagged", "hung up there"],
                "scale": {"domain": ["answered first time", "answered after a re-ask or fix", "skipped", "flagged",
                                     "hung up there"],
                          "range": ["#16a34a", "#86efac", "#9ca3af", WARN, CAP]},
                "legend": {"orient": "bottom", "columns": 3}},
            "order": {"field": "rank", "type": "quantitative"},
            "tooltip": [{"field": "field"}, {"field": "outcome"}, {"field": "callers"}],
        }})
    return spec


def timeline(rows: list[dict[str, Any]], *, title: str) -> dict[str, Any]:
    """Each exchange of a call as a bar split into its stages, with a tick at the total voice-to-voice time and a
    warning mark where a provider fell back."""
    order = list(dict.fromkeys(r["turn"] for r in rows if "stage" in r))
    stages = [r for r in rows if "stage" in r]
    totals = [r for r in rows if "total" in r]
    spec = _base(title, [], height=max(120, 24 * len(order)))
    spec.pop("data")
    y = {"field": "turn", "type": "nominal", "sort": order, "title": None}
    spec["layer"] = [
        {"data": {"values": stages}, "mark": {"type": "bar", "tooltip": True},
         "encoding": {"y": y, "x": {"field": "seconds", "type": "quantitative", "stack": "zero",
                                    "title": "seconds"},
                      "color": {"field": "stage", "type": "nominal", "title": None,
                                "sort": ["end of turn", "STT", "interviewer first token", "TTS first audio"],
                                "legend": {"orient": "bottom"}},
                      "order": {"field": "rank", "type": "quantitative"},
                      "tooltip": [{"field": "turn"}, {"field": "stage"}, {"field": "seconds", "format": ".3f"}]}},
        {"data": {"values": totals}, "mark": {"type": "tick", "color": "black", "thickness": 2, "tooltip": True},
         "encoding": {"y": y, "x": {"field": "total", "type": "quantitative"},
                      "tooltip": [{"field": "turn"}, {"field": "total", "title": "voice-to-voice s", "format": ".3f"},
                                  {"field": "fallback"}]}},
        {"data": {"values": [r for r in totals if r.get("fallback")]},
         "mark": {"type": "text", "text": "⚠ fallback", "color": WARN, "align": "left", "dx": 6},
         "encoding": {"y": y, "x": {"field": "total", "type": "quantitative"}}},
    ]
    return spec


def ranked_bars(rows: list[dict[str, Any]], *, title: str, value: str, worst: str, x_title: str) -> dict[str, Any]:
    """Longest first: a bar for the mean, a tick for the worst case."""
    order = [r["label"] for r in rows]
    spec = _base(title, rows, height=max(120, 26 * len(order)))
    y = {"field": "label", "type": "nominal", "sort": order, "title": None}
    spec["layer"] = [
        {"mark": {"type": "bar", "color": WARN, "tooltip": True},
         "encoding": {"y": y, "x": {"field": value, "type": "quantitative", "title": x_title},
                      "tooltip": [{"field": "label"}, {"field": value, "format": ".3f"},
                                  {"field": worst, "format": ".3f"}, {"field": "replies"}]}},
        {"mark": {"type": "tick", "color": CAP, "thickness": 2},
         "encoding": {"y": y, "x": {"field": worst, "type": "quantitative"}}},
    ]
    return spec
