"""What a scenario reports and how it is printed: a table for people and one
`RESULT name=<scenario> key=value …` line per scenario for tools and the docs."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

Value = int | float | str


@dataclass
class ScenarioResult:
    """The figures of one scenario, in the order they were added, plus free-form notes."""

    name: str
    values: dict[str, Value] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, value: Value) -> None:
        if not key.replace("_", "").isalnum():
            raise ValueError(f"bad result key {key!r}")
        self.values[key] = value

    def note(self, text: str) -> None:
        self.notes.append(text)

    def result_line(self) -> str:
        fields = [
            f"name={self.name}",
            *(f"{key}={format_value(value)}" for key, value in self.values.items()),
        ]
        return "RESULT " + " ".join(fields)


def format_value(value: Value) -> str:
    """Numbers with as many digits as a noisy 2-core measurement deserves; strings without
    spaces (a RESULT line is split on them)."""
    if isinstance(value, str):
        return value.replace(" ", "_") or "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "nan"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.01 or magnitude == 0:
        return f"{value:.2f}"
    return f"{value:.2g}"


def render_table(results: Iterable[ScenarioResult]) -> str:
    """A plain-text table: scenario, metric, value, then each scenario's notes."""
    rows: list[tuple[str, str, str]] = []
    notes: list[str] = []
    for result in results:
        name = result.name
        for key, value in result.values.items():
            rows.append((name, key, format_value(value)))
            name = ""
        notes.extend(f"{result.name}: {note}" for note in result.notes)
    header = ("scenario", "metric", "value")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    lines = [_row(header, widths), _row(tuple("-" * w for w in widths), widths)]
    lines.extend(_row(row, widths) for row in rows)
    if notes:
        lines.append("")
        lines.extend(f"note: {note}" for note in notes)
    return "\n".join(lines)


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return f"{cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}".rstrip()
