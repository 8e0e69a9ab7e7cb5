#!/usr/bin/env python3
"""Reads wrk outputs from bench/results and writes the catalog section of docs/PERFORMANCE.md
(between its markers; other sections of the file are kept)."""
import argparse
import datetime
import os
import platform
import re

START, END = "<!-- catalog-bench:start -->", "<!-- catalog-bench:end -->"


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    m = re.search(r"(\d+) requests in ([\d.]+)(s|m)", text)
    total, seconds = int(m.group(1)), float(m.group(2)) * (60 if m.group(3) == "m" else 1)
    cpu = re.search(r"wrk cpu seconds: ([\d.]+) user ([\d.]+) system", text)
    # wrk's own CPU use, in cores: what the load tool took from the machine it shares.
    wrk_cores = (float(cpu.group(1)) + float(cpu.group(2))) / seconds if cpu and seconds else float("nan")
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors, "requests": total, "wrk_cores": wrk_cores}


def write_section(path, start, end, section):
    """Puts section (which begins with start and ends with end) into the Markdown file at path:
    in place of the previous one between the same markers, else at the end."""
    text = open(path).read() if os.path.exists(path) else (
        "# Performance\n\nFigures measured by `make bench`. Each section says when and on what.\n")
    if start in text and end in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(text)


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024 // 1024
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB, Linux {platform.release()}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("out")
    ap.add_argument("--seed-seconds", type=float)
    ap.add_argument("--products", type=int)
    ap.add_argument("--duration")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--cache", default="")
    ap.add_argument("--rss-mib", default="")
    ap.add_argument("--rss-anon-mib", default="")
    ap.add_argument("--rss-file-mib", default="")
    ap.add_argument("--product-id", default="")
    ap.add_argument("--commit", default="unknown")
    a = ap.parse_args()

    rows = []
    verdicts = []
    runs = [(conns, name, label) for conns in (100, 1000)
            for name, label in (("list", "catalog list"), ("search", "search"), ("product", "product page"))]
    runs.append((16, "search-uncached", "search, uncached"))
    runs.append((16, "words-uncached", "search, new words"))
    for conns, name, label in runs:
        rounds = []
        for r in range(1, a.rounds + 1):
            e = parse(os.path.join(a.results, f"emporium-{name}-c{conns}-r{r}.txt"))
            n = parse(os.path.join(a.results, f"nginx-{name}-c{conns}-r{r}.txt"))
            # Only good answers count: a 503 is fast to send but serves no shopper.
            good = e["rps"] * (1 - e["errors"] / e["requests"]) if e["requests"] else 0
            ratio = good / n["rps"] if n["rps"] else 0
            p99_ratio = e["p99"] / n["p99"] if n["p99"] else 0
            rounds.append({"e": e, "n": n, "good": good, "ratio": ratio, "p99_ratio": p99_ratio})
        # The median round by throughput ratio is the row; the p99 ratio's median is taken apart.
        by_ratio = sorted(rounds, key=lambda x: x["ratio"])
        mid = by_ratio[len(by_ratio) // 2]
        p99_ratio = sorted(x["p99_ratio"] for x in rounds)[len(rounds) // 2]
        e, n, good, ratio = mid["e"], mid["n"], mid["good"], mid["ratio"]
        errors = sum(x["e"]["errors"] for x in rounds)
        nginx_errors = sum(x["n"]["errors"] for x in rounds)
        spread = ", ".join(f"{x['ratio']:.2f}" for x in rounds)
        rows.append(f"| {label} | {conns} | {good:,.0f} | {e['p50']:.2f} | {e['p99']:.2f} | {errors} "
                    f"| {e['wrk_cores']:.2f} | {n['rps']:,.0f} | {n['p50']:.2f} | {n['p99']:.2f} | {nginx_errors} "
                    f"| {n['wrk_cores']:.2f} | {ratio:.2f} | {spread} | {p99_ratio:.2f} |")
        verdicts.append((name, conns, ratio, p99_ratio, errors, nginx_errors))

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cached = [v for v in verdicts if not v[0].endswith("-uncached")]
    throughput_ok = sum(1 for v in cached if v[2] >= 0.8 and v[4] == 0)
    p99_ok = sum(1 for v in cached if v[3] <= 1.5 and v[4] == 0)
    uncached = next(v for v in verdicts if v[0] == "search-uncached")
    words = next(v for v in verdicts if v[0] == "words-uncached")
    section = f"""{START}
## Catalog reads against nginx (`make bench`)

Measured {now} at commit {a.commit} on {machine()}; the program, nginx and wrk share the same
cores. {a.products:,} products seeded in {a.seed_seconds:.1f} s. wrk -t2, {a.duration} per run after a 2 s
warm-up, {a.rounds} rounds of each comparison (the program and nginx back to back, in turns: the
machine's speed drifts, and a single pair of runs can differ by a tenth for that alone; each row
is the median round, its errors summed over all rounds), 5 s timeout, no Accept-Encoding (so both sides send the same bytes). nginx (worker_processes
auto, access log off) serves the exact response bytes of each route as a static file: the limit to
compare with. The program runs as shipped: access log on (to a file), metrics on, tracing on,
catalog cache on; only the per-address rate limit is off, since all the load comes from one
address. Latencies in milliseconds; errors are socket errors, timeouts and non-2xx answers; req/s
counts good (2xx) answers only; "wrk cores" is the load tool's own CPU time over the run (cores
it took from the two). Ratio = program req/s ÷ nginx req/s (the median round's, then every
round's); p99 ratio = program p99 ÷ nginx p99 (the median over the rounds).
Any error on either side fails `make bench`.

| route | conns | req/s | p50 | p99 | errors | wrk cores | nginx req/s | nginx p50 | nginx p99 | nginx errors | wrk cores | ratio | rounds | p99 ratio |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + f"""

Paths: `/api/products?page=1&per_page=24`, `/api/products?q=shadow%20leg&per_page=24`,
`/api/products/{a.product_id}`; the uncached search adds a new `min_price` to every request
(`bench/new_min_price.lua`), so each one runs its query; "new words" asks one or two words drawn from
the demo catalog's vocabulary and a new `min_price` every request (`bench/new_words.lua`), pages of
products no search has shown yet (nginx serves the search answer's bytes for both). After the runs:
{a.cache.strip() or 'cache figures unavailable'}; resident memory {a.rss_mib} MiB after the runs at 1,000
connections (before the uncached searches, which fill the cache to its 64 MiB bound): {a.rss_anon_mib} MiB the
process's own (heap, stacks, the recommendation model), {a.rss_file_mib} MiB pages of mapped files (the program and
its libraries; SQLite reads the database with read(), through page caches of 2 MiB per connection
counted in the process's own, and lists and searches come from the catalog's copy in memory).

Against the aims (issue 15: cached routes at least 0.8× nginx's throughput with p99 at most 1.5×
nginx's, zero errors; uncached search at least 0.4×), by the median round: throughput in {throughput_ok} of
{len(cached)} comparisons, p99 in {p99_ok} of {len(cached)}; uncached search {uncached[2]:.2f}× (with new words
{words[2]:.2f}×). Raw wrk outputs of the latest run:
`bench/results/` (kept on the machine, not committed).
{END}"""

    write_section(a.out, START, END, section)
    failed = [f"{v[0]} c={v[1]}: program {v[4]}, nginx {v[5]}" for v in verdicts if v[4] or v[5]]
    if failed:
        raise SystemExit("catalog bench: errors or non-2xx answers in " + "; ".join(failed))

if __name__ == "__main__":
    main()
