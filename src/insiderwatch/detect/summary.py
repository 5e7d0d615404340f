"""An alert in words: one line per detector and one sentence for the whole episode.

Built from the findings' structured fields (the measure that moved, its value, the
employee's and peers' usual), so a detector that fired forty times in an episode reads
as one line with its peak, not forty copies of its sentence.
"""

from __future__ import annotations

from insiderwatch.contract import Finding
from insiderwatch.detect.state import MEASURES


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value - round(value)) < 0.05 else f"{value:,.1f}"


def _span(first, last) -> str:
    """A time span, with the date only where the reader needs it to place the span."""
    if first == last:
        return f"at {first:%H:%M}"
    if first.date() == last.date():
        return f"{first:%H:%M}-{last:%H:%M}"
    return f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"


def _measured(findings: list[Finding]) -> str:
    """The peak of a baseline measure, when and against what usual."""
    peak = max(findings, key=lambda f: (f.observed or 0.0, f.detected_at))
    phrase = MEASURES.get(peak.measure or "", (peak.measure or "").replace("_", " ") + " {}")
    days = len({f.detected_at.date() for f in findings})
    text = (
        f"{phrase.format(_num(peak.observed))} {_span(peak.window_start, peak.detected_at)} "
        f"(own usual {_num(peak.own_usual)}, peers' ceiling {_num(peak.peer_usual)})"
    )
    return text + (f" (on {days} days)" if days > 1 else "")


def detector_line(findings: list[Finding]) -> str:
    """One detector's findings in an episode (time order) as one line."""
    if any(f.measure is not None for f in findings):
        return _measured([f for f in findings if f.measure is not None])
    latest = findings[-1]
    if len(findings) == 1:
        return latest.reason
    return f"{latest.reason} (and {len(findings) - 1} earlier since {findings[0].window_start:%Y-%m-%d %H:%M})"


def summarise(findings: list[Finding], customers: int) -> tuple[list[str], str]:
    """Per-detector lines in the order the detectors first fired, and the sentence."""
    per_detector: dict[str, list[Finding]] = {}
    for f in findings:
        per_detector.setdefault(f.detector, []).append(f)
    texts = {det: detector_line(fs) for det, fs in per_detector.items()}
    first = min(f.window_start for f in findings)
    last = max(f.detected_at for f in findings)
    when = (
        f"{first:%Y-%m-%d} {_span(first, last)}"
        if first.date() == last.date()
        else _span(first, last)
    )
    sentence = f"{customers:,} customer(s), {when}: " + "; then ".join(texts.values())
    return [f"{det}: {text}" for det, text in texts.items()], sentence
