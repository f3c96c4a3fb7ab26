"""Derive bench/data/incident_durations.csv from the study's incident histories.

    python bench/data/derive_incident_durations.py PATH/data/raw/incident/2024-08-31

PATH is a checkout of atlarge-research/llm-service-analysis (bench/data/SOURCES.md). For each
OpenAI and Anthropic incident it keeps only facts computed from the update times: the
provider, the impact, the month of the first update and the minutes from the first update
to the last (the Statuspage times are US Pacific, PST or PDT as shown). No title, text or
link is kept. Incidents with a single update (posted once resolved) have no duration and
are left out.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

OFFSETS = {"PST": -8, "PDT": -7}
STAMP = re.compile(r"([A-Z][a-z]{2} \d{2}, \d{4} - \d{2}:\d{2}) (PST|PDT)")


def main(root: Path) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["provider", "impact", "month", "minutes"])
    rows = []
    for provider in ("openai", "anthropic"):
        for path in sorted((root / provider).glob("incident_history_*.csv")):
            with path.open(newline="") as f:
                for incident in csv.DictReader(f):
                    times = []
                    for update in json.loads(incident["Updates"]):
                        m = STAMP.search(update["Update_Timestamp"])
                        if m is None:
                            raise SystemExit(f"{path}: unreadable time "
                                             f"{update['Update_Timestamp']!r}")
                        local = datetime.strptime(m.group(1), "%b %d, %Y - %H:%M")
                        times.append((local - timedelta(hours=OFFSETS[m.group(2)]))
                                     .replace(tzinfo=UTC))
                    minutes = (max(times) - min(times)).total_seconds() / 60
                    if minutes > 0:
                        impact = incident["Incident_Impact"].removeprefix("impact-")
                        rows.append((provider, impact, f"{min(times):%Y-%m}", f"{minutes:g}"))
    out.writerows(sorted(rows))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
