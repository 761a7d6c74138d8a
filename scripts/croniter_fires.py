#!/usr/bin/env python3
"""Reference fire times for storepulse's cron schedules, computed by croniter.

Reads JSON lines from stdin: {"expr", "tz", "from" (RFC 3339), "count"}.
Writes one JSON line per case: the fire instants as RFC 3339 with offset.

croniter runs on local naive wall time; each wall time is then turned into
instants by SPEC section 6: for fixed hours a wall time inside a spring-forward
gap fires at the first valid instant after the gap and a repeated one fires
once, at its first occurrence; when the hour field is `*` or `*/n` the job
follows real time (gap wall times skipped, repeated ones fire twice).
Six-field expressions carry seconds first (storepulse's form); croniter wants
them last, so they are rotated before evaluation.
"""
import json
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Largest DST swing looked around, generous for every zone in use.
SWING = timedelta(hours=3)


def exists(naive, zone):
    aware = naive.replace(tzinfo=zone, fold=0)
    back = aware.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)
    return back == naive


def instants(naive, zone, real_time):
    if not exists(naive, zone):
        if real_time:
            return []
        probe = naive.replace(second=0, microsecond=0)
        for _ in range(24 * 60):
            probe += timedelta(minutes=1)
            if exists(probe, zone):
                return [probe.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)]
        return []
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    out = [first.astimezone(timezone.utc)]
    if real_time and first.utcoffset() != second.utcoffset():
        out.append(second.astimezone(timezone.utc))
    return out


def fires(expr, tz_name, start, count):
    zone = ZoneInfo(tz_name)
    expr = ALIASES.get(expr.strip().lower(), expr.strip())
    fields = expr.split()
    hour = fields[2] if len(fields) == 6 else fields[1]
    real_time = hour in ("*", "?") or hour.startswith("*/")
    if len(fields) == 6:
        expr = " ".join(fields[1:] + fields[:1])
    start_utc = start.astimezone(timezone.utc)
    local_start = start_utc.astimezone(zone).replace(tzinfo=None) - SWING
    it = croniter(expr, local_start, day_or=True)
    found = set()
    while True:
        naive = it.get_next(datetime)
        for inst in instants(naive, zone, real_time):
            if inst > start_utc:
                found.add(inst)
        ordered = sorted(found)
        if len(ordered) >= count:
            last = ordered[count - 1].astimezone(zone).replace(tzinfo=None)
            if naive > last + SWING:
                return [
                    i.astimezone(zone).isoformat() for i in ordered[:count]
                ]


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        case = json.loads(line)
        start = datetime.fromisoformat(case["from"].replace("Z", "+00:00"))
        out = fires(case["expr"], case["tz"], start, int(case["count"]))
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
