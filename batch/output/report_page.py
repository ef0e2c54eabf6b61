"""The HTML report: one self-contained page, its charts drawn here as inline SVG.

Nothing is fetched when the page is viewed: no script, no font, no image, and a Content Security
Policy that forbids loading anything, so even a value that slipped through could not run or
fetch. Every value from the ledger (ticket ids, messages, field and error names, audit facts) is
HTML-escaped. Each chart is an `<svg data-chart=NAME role="img">` with a `<title>` and a `<desc>`
(repeated as the visible caption) saying what it shows in words.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

from batch.output.report import LedgerSummary

__all__ = ["CHARTS", "render_html"]

CHARTS = ("outcomes", "throughput", "latency", "errors", "fields")  # data-chart names, in page order
WIDTH = 760
PLOT_HEIGHT = 200
MAX_BARS = 30  # fields or outcomes drawn at most; the caption counts the rest
_LEFT, _TOP, _BOTTOM = 64, 24, 28
_PALETTE = ("#1565c0", "#c62828", "#ef6c00", "#6a1b9a", "#00838f", "#558b2f", "#ad1457", "#4e342e")
_OUTCOME_COLOURS = {
    "updated": "#2e7d32", "unchanged": "#78909c", "released": "#1565c0", "invalid": "#ef6c00",
    "failed": "#c62828", "precondition_failed": "#8e24aa", "stale": "#6d4c41", "skipped": "#9e9e9e",
    "would_update": "#43a047", "would_release": "#1e88e5",
}
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 800px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
figure { margin: 0; } figcaption { color: #555; font-size: 12px; }
svg text { font-size: 11px; fill: #333; } svg .axis { stroke: #999; }
table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ddd; padding: 2px 6px; }
td { vertical-align: top; word-break: break-word; } th { background: #f4f4f4; text-align: left; }
"""


def render_html(name: str, s: LedgerSummary) -> str:
    """The whole page for the ledger called `name`."""
    facts = "".join(f"<li>{_e(k)}: {_e(v)}</li>" for k, v in s.facts.items())
    sections = [_outcomes(s), _throughput(s), _latency(s), _errors(s), _fields(s), *_tables(s)]
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}"><link rel="icon" href="data:,">'
        f"<title>uom-batch report: {_e(name)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>uom-batch report: {_e(name)}</h1><p>{s.rows} rows</p><ul>{facts}</ul>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _outcomes(s: LedgerSummary) -> str:
    said = ", ".join(f"{o} {n}" for o, n in s.outcomes) or "no rows"
    bars = _hbars(s.outcomes, lambda i, o: _OUTCOME_COLOURS.get(o, _PALETTE[i % len(_PALETTE)]))
    return _chart("outcomes", "Outcomes", f"Rows by outcome: {said}.", *bars)


def _throughput(s: LedgerSummary) -> str:
    t = s.timeline
    rates = t.rows_per_s
    if not rates:
        return _chart("throughput", "Throughput over time", "No row has a finish time.", 40, _note("no data"))
    peak = max(range(len(rates)), key=rates.__getitem__)
    said = (f"{sum(t.finished)} rows finished over {len(rates) * t.width_s:g} s, in buckets of "
            f"{t.width_s:g} s; peak {rates[peak]:.4g} rows/s at +{peak * t.width_s:g} s.")
    body = _columns({"rows/s": rates}, lambda i: f"+{i * t.width_s:g} s", "rows/s")
    return _chart("throughput", "Throughput over time (rows finished per second)", said, *body)


def _latency(s: LedgerSummary) -> str:
    lat = s.latency
    if not lat.rows:
        return _chart("latency", "Latency per row", "No row was sent.", 40, _note("no data"))
    said = (f"Finished minus started, {lat.rows} rows: p50 {lat.p50_s:.3f} s, p90 {lat.p90_s:.3f} s, "
            f"p99 {lat.p99_s:.3f} s, max {lat.max_s:.3f} s.")
    counts = [float(n) for _, n in lat.bins]
    body = _columns({"rows": counts}, lambda i: f"{lat.bins[i][0]:.3g} s", "rows")
    return _chart("latency", "Latency per row (distribution)", said, *body)


def _errors(s: LedgerSummary) -> str:
    t = s.timeline
    untimed = sum(e.rows for e in s.errors) - sum(sum(v) for v in t.errors.values())
    later = f" {untimed} more rows have an error but no finish time (invalid, never sent)." if untimed else ""
    if not t.errors:
        return _chart("errors", "Errors over time", f"No sent row ended with an error.{later}", 40,
                      _note("no errors"))
    said = ", ".join(f"{k} {sum(v)}" for k, v in t.errors.items())
    series = {k: [float(n) for n in v] for k, v in t.errors.items()}
    body = _columns(series, lambda i: f"+{i * t.width_s:g} s", f"rows per {t.width_s:g} s")
    return _chart("errors", "Errors over time (by error type)",
                  f"Rows ending with an error, per {t.width_s:g} s: {said}.{later}", *body)


def _fields(s: LedgerSummary) -> str:
    title = "Drift per field" if s.drift else "Fields changed"
    what = "rows whose ticket differs" if s.drift else "rows that changed it"
    said = ", ".join(f"{f} {n}" for f, n in s.fields) or "none"
    bars = _hbars(s.fields, lambda i, _: _PALETTE[i % len(_PALETTE)])
    return _chart("fields", title, f"Per field, the {what}: {said}.", *bars)


def _tables(s: LedgerSummary) -> list[str]:
    slow = [(r.row, r.ticket_id, r.outcome, r.attempts, f"{r.seconds:.3f}") for r in s.slowest]
    return [
        _table("Error types", ("error type", "rows", "first message"), s.errors),
        _table("Slowest rows", ("row", "ticket", "outcome", "attempts", "seconds"), slow),
        _table(f"Conflicts: {s.conflicts} retried, on {s.conflict_rows} rows",
               ("row", "ticket", "outcome", "conflicts"), s.most_conflicts),
    ]


# --- drawing -----------------------------------------------------------------------------


def _chart(name: str, title: str, desc: str, height: float, body: str) -> str:
    """One chart: a heading, the SVG (titled and described for screen readers), a caption."""
    return (
        f"<section><h2>{_e(title)}</h2><figure>"
        f'<svg data-chart="{name}" role="img" aria-labelledby="{name}-title {name}-desc" '
        f'width="{WIDTH}" height="{height:g}" viewBox="0 0 {WIDTH} {height:g}">'
        f'<title id="{name}-title">{_e(title)}</title><desc id="{name}-desc">{_e(desc)}</desc>'
        f"{body}</svg><figcaption>{_e(desc)}</figcaption></figure></section>"
    )


def _hbars(items: Sequence[tuple[str, int]], colour: Callable[[int, str], str]) -> tuple[float, str]:
    """Horizontal bars, one per (label, count): the height and the body."""
    shown = items[:MAX_BARS]
    if not shown:
        return 40, _note("none")
    top = max(n for _, n in shown) or 1
    parts = []
    for i, (label, n) in enumerate(shown):
        y, w = 8 + 24 * i, 440 * n / top
        parts.append(
            f'<text x="212" y="{y + 14}" text-anchor="end">{_e(_clip(label))}</text>'
            f'<rect x="220" y="{y}" width="{w:.1f}" height="18" fill="{colour(i, label)}">'
            f"<title>{_e(label)}: {n}</title></rect><text x=\"{226 + w:.1f}\" y=\"{y + 14}\">{n}</text>"
        )
    return 16 + 24 * len(shown), "".join(parts)


def _columns(series: Mapping[str, Sequence[float]], x_label: Callable[[int], str],
             unit: str) -> tuple[float, str]:
    """Stacked columns, one per bucket, a legend when there are several series: height and body."""
    buckets = max(len(v) for v in series.values())
    totals = [sum(v[i] for v in series.values() if i < len(v)) for i in range(buckets)]
    top, plot_w = max(totals) or 1.0, WIDTH - _LEFT - 16
    step, base = plot_w / buckets, [0.0] * buckets
    parts = [_axes(top, unit, x_label, buckets, step)]
    for k, (name, values) in enumerate(series.items()):
        for i, v in enumerate(values):
            if v > 0:
                h, base[i] = PLOT_HEIGHT * v / top, base[i] + v
                y = _TOP + PLOT_HEIGHT - PLOT_HEIGHT * base[i] / top
                parts.append(
                    f'<rect x="{_LEFT + i * step:.1f}" y="{y:.1f}" width="{max(step - 1, 0.5):.1f}" '
                    f'height="{h:.1f}" fill="{_PALETTE[k % len(_PALETTE)]}">'
                    f"<title>{_e(name)}, {_e(x_label(i))}: {v:.4g}</title></rect>"
                )
    legend = _legend(list(series)) if len(series) > 1 else ("", 0.0)
    return _TOP + PLOT_HEIGHT + _BOTTOM + legend[1], "".join(parts) + legend[0]


def _axes(top: float, unit: str, x_label: Callable[[int], str], buckets: int, step: float) -> str:
    bottom = _TOP + PLOT_HEIGHT
    ticks = sorted({0, buckets // 2, buckets - 1})
    x_text = "".join(
        f'<text x="{_LEFT + (i + 0.5) * step:.1f}" y="{bottom + 16}" text-anchor="middle">'
        f"{_e(x_label(i))}</text>"
        for i in ticks
    )
    return (
        f'<path class="axis" fill="none" d="M{_LEFT} {_TOP}V{bottom}H{WIDTH - 16}"/>'
        f'<text x="{_LEFT - 6}" y="{_TOP + 10}" text-anchor="end">{top:.4g}</text>'
        f'<text x="{_LEFT - 6}" y="{bottom}" text-anchor="end">0</text>'
        f'<text x="{_LEFT}" y="{_TOP - 10}">{_e(unit)}</text>{x_text}'
    )


def _legend(names: list[str]) -> tuple[str, float]:
    y0 = _TOP + PLOT_HEIGHT + _BOTTOM
    parts = []
    for k, name in enumerate(names):
        x, y = _LEFT + 170 * (k % 4), y0 + 18 * (k // 4)
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{_PALETTE[k % len(_PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{y + 9}">{_e(_clip(name, 24))}</text>')
    return "".join(parts), 18.0 * ((len(names) + 3) // 4) + 4


def _note(text: str) -> str:
    return f'<text x="{_LEFT}" y="24">{_e(text)}</text>'


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    if not rows:
        return f"<section><h2>{_e(title)}</h2><p>none</p></section>"
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<section><h2>{_e(title)}</h2><table><tr>{head}</tr>{body}</table></section>"


def _clip(text: str, length: int = 30) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _e(value: object) -> str:
    """Any value as HTML text (quotes too: it may land in an attribute)."""
    return html.escape("" if value is None else str(value), quote=True)
