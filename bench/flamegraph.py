#!/usr/bin/env python3
"""Turns `perf script` output into a flame graph (SVG): each sample's call stack is folded into
one line (outermost frame first), equal stacks are counted, and every frame becomes a box as wide
as its share of the samples. Hovering a box shows its name and share (the SVG <title>).

    perf script -i perf.data | bench/flamegraph.py --title "..." > out.svg
    bench/flamegraph.py --folded stacks.txt ...   (one "a;b;c COUNT" line per stack)
"""
import argparse
import collections
import html
import re
import sys

WIDTH = 1200
ROW = 16
MIN_WIDTH = 0.3  # pixels: narrower boxes are left out (their time still counts in the parents)


def clean(frame):
    """A readable frame name: no argument lists or template arguments, no offsets."""
    name = re.sub(r"\+0x[0-9a-f]+$", "", frame)
    # Drop argument lists and template arguments, innermost first, so long Asio names fit.
    for _ in range(8):
        shorter = re.sub(r"<[^<>]*>", "", name)
        shorter = re.sub(r"\([^()]*\)", "", shorter)
        if shorter == name:
            break
        name = shorter
    return name.strip() or frame


def fold_perf_script(lines):
    """Counts of folded stacks from `perf script` text: a header line per sample (the command
    and thread), then one line per frame (innermost first), then a blank line."""
    stacks = collections.Counter()
    command, frames = None, []

    def flush():
        if command is not None:
            stacks[";".join([command] + [clean(f) for f in reversed(frames)])] += 1

    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            flush()
            command, frames = None, []
        elif not line.startswith((" ", "\t")):
            flush()
            command, frames = line.split()[0], []
        else:
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                symbol = re.sub(r"\s+\([^)]*\)$", "", parts[1])  # the "(/path/to/lib)" suffix
                frames.append(symbol if symbol != "[unknown]" else "[unknown]")
    flush()
    return stacks


def read_folded(lines):
    stacks = collections.Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if stack:
            stacks[stack] += int(count)
    return stacks


def build_tree(stacks):
    root = {"name": "all", "count": 0, "children": {}}
    for stack, count in stacks.items():
        root["count"] += count
        node = root
        for frame in stack.split(";"):
            node = node["children"].setdefault(frame, {"name": frame, "count": 0, "children": {}})
            node["count"] += count
    return root


def colour(name):
    """Warm colours, stable per name; our own code (emporium::) in orange-red, the kernel in grey."""
    h = sum(ord(c) * (i + 1) for i, c in enumerate(name[:40]))
    if "emporium::" in name:
        return f"rgb(230,{90 + h % 60},40)"
    if name.startswith(("[k]", "entry_", "__x64", "do_syscall", "tcp_", "__sys_", "sock_", "ip_")):
        return f"rgb({170 + h % 30},{170 + h % 30},{180 + h % 30})"
    return f"rgb({200 + h % 55},{100 + h % 120},{40 + h % 40})"


def render(root, title, subtitle):
    total = root["count"] or 1
    boxes = []
    depth_max = 0

    def walk(node, x, depth):
        nonlocal depth_max
        width = node["count"] / total * WIDTH
        if width < MIN_WIDTH:
            return
        depth_max = max(depth_max, depth)
        boxes.append((x, depth, width, node["name"], node["count"]))
        child_x = x
        for child in sorted(node["children"].values(), key=lambda c: c["name"]):
            walk(child, child_x, depth + 1)
            child_x += child["count"] / total * WIDTH

    walk(root, 0.0, 0)
    top = 60
    height = top + (depth_max + 1) * ROW + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + 20}" height="{height}" '
           f'font-family="monospace" font-size="11">',
           f'<rect width="100%" height="100%" fill="#fdfdf5"/>',
           f'<text x="10" y="20" font-size="15">{html.escape(title)}</text>',
           f'<text x="10" y="40" fill="#555">{html.escape(subtitle)}</text>']
    for x, depth, width, name, count in boxes:
        y = height - 20 - (depth + 1) * ROW
        share = 100.0 * count / total
        label = html.escape(name)
        out.append(f'<g><title>{label} ({count} samples, {share:.2f}%)</title>'
                   f'<rect x="{10 + x:.2f}" y="{y}" width="{width:.2f}" height="{ROW - 1}" '
                   f'fill="{colour(name)}" rx="1"/>')
        chars = int(width / 6.6)
        if chars >= 3:
            text = name if len(name) <= chars else name[:chars - 2] + ".."
            out.append(f'<text x="{12 + x:.2f}" y="{y + ROW - 4}">{html.escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--title", default="Flame graph")
    ap.add_argument("--subtitle", default="")
    ap.add_argument("--folded", help="read folded stacks from this file instead of perf script on stdin")
    ap.add_argument("--write-folded", help="also write the folded stacks here")
    a = ap.parse_args()
    if a.folded:
        with open(a.folded) as f:
            stacks = read_folded(f)
    else:
        stacks = fold_perf_script(sys.stdin)
    if not stacks:
        sys.exit("flamegraph.py: no samples")
    if a.write_folded:
        with open(a.write_folded, "w") as f:
            for stack, count in sorted(stacks.items()):
                f.write(f"{stack} {count}\n")
    subtitle = a.subtitle or f"{sum(stacks.values())} samples"
    sys.stdout.write(render(build_tree(stacks), a.title, subtitle))


if __name__ == "__main__":
    main()
