#!/usr/bin/env python3
"""Writes the recommendations section of docs/PERFORMANCE.md (between its markers): the serving
benchmark (wrk paced at about 200 requests/s against a 50,000-product shop), the model's training
time and size there, and the evaluation of the model on both demo shops. Exits 1 when any answer
was not 2xx."""
import argparse
import datetime
import json
import sys

from wrk_report import machine, write_section

START, END = "<!-- recs-bench:start -->", "<!-- recs-bench:end -->"


def mib(n):
    return f"{n / 1048576:.1f} MiB"


def evaluation_rows(name, m):
    e = m["evaluation"]
    rows = []
    for method, label in (("blend", "blend (the model)"), ("popularity", "most popular"), ("buy_again", "buy again")):
        s = e[method]
        rows.append(f"| {name} | {label} | {s['recall_at_10']:.3f} | {s['ndcg_at_10']:.3f} | {s['hit_rate_at_10']:.3f} "
                    f"| {s['repeat']['recall_at_10']:.3f} | {s['new']['recall_at_10']:.3f} |")
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--wrk", required=True, help="the JSON line bench/recs.lua printed")
    p.add_argument("--big", required=True, help="manifest of the model of the benchmark's shop")
    p.add_argument("--preset", default="games", help="the benchmark shop's preset")
    p.add_argument("--demo", nargs=2, action="append", metavar=("NAME", "MANIFEST"), required=True)
    p.add_argument("--demo-shop", required=True, help="what each demo shop holds, in words")
    p.add_argument("--rate", required=True, help="the pacing, in words")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    w = json.load(open(a.wrk))
    big = json.load(open(a.big))
    failed = w["non_2xx"] > 0 or w["socket_errors"] > 0
    rps = w["requests"] / w["seconds"] if w["seconds"] else 0
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = open("/proc/loadavg").read().split()[:3]
    lines = [
        START,
        "## Recommendations (`make bench`)",
        "",
        f"Measured {now} on {machine()}, a machine shared with other jobs (load average {' / '.join(load)} "
        "over 1 / 5 / 15 minutes when this was written): timings are noisy.",
        "",
        f"**Serving.** {'Git Goods' if a.preset == 'games' else 'GoMart'} with {big['items']:,} products and "
        f"{big['data_window']['orders']:,} orders (not cancelled) by {big['data_window']['customers']:,} customers. `GET /api/products/{{id}}/recommendations?limit=10` for random products, "
        f"{a.rate}; most answers miss the cache, so the model, the filters and the product reads answer.",
        "",
        "| requests | requests/s | p50 | p95 | p99 | max | non-2xx or socket errors | aim: p95 under 10 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|:---|",
        f"| {w['requests']:,} | {rps:.0f} | {w['p50_ms']:.2f} ms | {w['p95_ms']:.2f} ms | {w['p99_ms']:.2f} ms "
        f"| {w['max_ms']:.1f} ms | {w['non_2xx'] + w['socket_errors']} "
        f"| {'met' if w['p95_ms'] < 10 and not failed else 'missed'} |",
        "",
        f"**Training that shop's model** (`emporium recs train`): {big['training_seconds']:.1f} s for "
        f"{big['items']:,} products and {big['data_window']['order_lines']:,} order lines; "
        f"{mib(big['size_bytes'])} on disk, about {mib(big['memory_bytes'])} in memory; HNSW M={big['parameters']['M']}, "
        f"ef_construction={big['parameters']['ef_construction']}, ef={big['parameters']['ef']}: index recall@10 "
        f"{big['ann_recall_at_10']:.3f} against exact search.",
        "",
        f"**Evaluation on the demo shops** ({a.demo_shop}; `emporium recs train` holds out each customer's last "
        "basket; half of those customers fit the blend's weights, the other half are measured; \"repeat\" and "
        "\"new\" are Recall@10 over the held-out items the customer had or had not bought before):",
        "",
        "| shop | recommender | Recall@10 | NDCG@10 | hit rate | repeat | new |",
        "|:---|:---|---:|---:|---:|---:|---:|",
    ]
    verdicts = []
    again_wins = []
    for name, path in a.demo:
        m = json.load(open(path))
        if m["evaluation"]["buy_again"]["recall_at_10"] > m["evaluation"]["blend"]["recall_at_10"]:
            again_wins.append(name)
        lines += evaluation_rows(name, m)
        v = m["evaluation"]["blend_vs_popularity"]
        verdicts.append(f"{name}: the blend's Recall@10 is {v['recall_ratio']:.1f}x popularity's "
                        f"(aim 3x: {'met' if v['at_least_3x'] else 'missed'}), and on new-to-customer items it is "
                        f"{'better' if v['better_on_new_items'] else 'not better'} than popularity; "
                        f"{m['evaluation']['test_customers']} test customers; fitted weights: "
                        + ", ".join(f"{k} {v}" for k, v in m["weights"].items())
                        + f"; co-purchase counted per {m['parameters']['co_purchase_basket']}; trained in "
                        f"{m['training_seconds']:.1f} s, {mib(m['size_bytes'])} on disk.")
    lines += [""] + [f"- {v}" for v in verdicts]
    if again_wins:
        lines += ["", f"On {' and '.join(again_wins)}, buy-again alone finds more of the held-out basket than the "
                  "blend (the same items come back): the blend keeps some of its ten places for items new to the "
                  "customer, where buy-again finds nothing, because its weights are fitted to Recall@10 plus "
                  "new-item Recall@10."]
    lines.append(END)
    write_section(a.out, START, END, "\n".join(lines))
    print(json.dumps(w))
    if failed:
        print("recommendations benchmark: some answers were not 2xx", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
