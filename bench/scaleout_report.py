"""The Markdown summary of one bench/scaleout.sh run."""

import json
import os
import sys

results, webs, workers, partitions = sys.argv[1:5]
sat = json.load(open(f"{results}/saturation.json"))
paced = json.load(open(f"{results}/paced.json"))
t0, t1, t2 = map(float, open(f"{results}/saturation-times.txt").read().split())
lag = paced["visible_probe_ms"]["visible_minus_ack_ms"]
print(f"{webs} web, {workers} worker process(es), {partitions} partitions; all services on this machine.")
print()
print("| measure | result | target |")
print("|---|---|---|")
print(f"| events/s acknowledged by the web process (durable in S3 + Redis) | {sat['events_per_sec']:,.0f} "
      f"({sat['events']:,} events, {sat['observations']:,} observations) | - |")
print(f"| events/s stored end to end (first request to empty queue) | {sat['events'] / (t2 - t0):,.0f} "
      f"(queue empty {t2 - t1:.1f} s after the last 207) | - |")
print(f"| web request latency p50 / p99 (saturation) | {sat['latency_ms']['p50']:.1f} / "
      f"{sat['latency_ms']['p99']:.1f} ms | - |")
print(f"| 207 to visible in the read API at {paced['offered_rate']:,} events/s offered, p50 / p99 / max "
      f"({lag['count']} probes) | {lag['p50']:.0f} / {lag['p99']:.0f} / {lag['max']:.0f} ms | p99 < 2,000 ms: "
      f"{'met' if lag['count'] and lag['p99'] < 2000 else 'not met'} |")
print(f"| web CPU / client CPU / everything else (workers, services) at saturation | "
      f"{sat['server_cpu_pct']:.0f} / {sat['client_cpu_pct']:.0f} / {sat['other_cpu_pct']:.0f} % | - |")
print(f"| failed requests | {sat['failed_requests'] + paced['failed_requests']} | 0 |")

ui = f"{results}/ui-timing.json"
if os.path.exists(ui):
    rep = json.load(open(f"{results}/replicate.json"))
    t = json.load(open(ui))
    print()
    print(f"Web UI with {rep['observations']:,} observations / {rep['traces']:,} traces in ClickHouse "
          f"(copied in {rep['seconds']} s):")
    print()
    print("| page | p50 | target |")
    print("|---|---|---|")
    for r, v in t["ranges"].items():
        print(f"| dashboard, {r}: navigation to every card filled | {v['page_p50']} ms | 500 ms |")
    for r, v in t.get("trace_list", {}).items():
        print(f"| trace list, {r}: navigation to 50 rows | {v['p50']} ms | 300 ms |")
