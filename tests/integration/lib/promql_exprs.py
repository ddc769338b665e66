#!/usr/bin/env python3
"""Prints every PromQL expression of the Grafana dashboard and the alert
rules, one JSON string per line, ready to evaluate: Grafana's variables get
values Prometheus accepts, and the top-level comparisons of rules get the
`bool` modifier, so a healthy system (no alert firing) still answers with
series (0/1) instead of nothing.

With --strict, only the dashboard's queries, without their final `or on()
vector(0)` fallback: the data must come from Pier's own series (on an idle
Pier, its zero series), not from the fallback that answers even when Pier
exports nothing. Fallbacks inside a ratio stay: "no 5xx series" is 0 errors.
The layer advisor's series (pier_advisor_*) are left out of --strict: they
describe builds, one set per repository once one was pushed, so an idle Pier
has none (the mid-replication check, after pushes, covers them).

usage: promql_exprs.py [--strict] DASHBOARD.json RULES.yaml
"""
import json, re, sys

import yaml

GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "1h", "$instance": ".*", "$destination": ".*", "$upstream": ".*"}
COMPARISONS = (">=", "<=", "==", "!=", ">", "<")


def with_bool(expr):
    """Adds `bool` after comparison operators outside {...}, (...) of label
    matchers and strings; leaves `=~`/`!~` matchers alone."""
    out, i, depth, quote = [], 0, 0, None
    while i < len(expr):
        c = expr[i]
        if quote:
            out.append(c)
            if c == "\\":
                out.append(expr[i + 1]); i += 2; continue
            if c == quote:
                quote = None
            i += 1; continue
        if c in "\"'`":
            quote = c; out.append(c); i += 1; continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if depth == 0:
            op = next((o for o in COMPARISONS if expr.startswith(o, i)), None)
            if op and not expr.startswith("=~", i) and not expr.startswith("!~", i):
                rest = expr[i + len(op):]
                out.append(op)
                if not rest.lstrip().startswith("bool"):
                    out.append(" bool")
                i += len(op); continue
        out.append(c); i += 1
    return "".join(out)


def top_level_parts(expr):
    """The operands of top-level `unless`/`and` (outside any brackets): a
    rule like `pending > 0 unless sending > 0` is quiet (empty) exactly
    when things are healthy, so each side is checked for data on its own."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(expr):
        c = expr[i]
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0:
            for word in ("unless", "and"):
                if expr.startswith(word, i) and (i == 0 or not expr[i - 1].isalnum()) and \
                        not expr[i + len(word):i + len(word) + 1].isalnum():
                    parts.append(expr[start:i]); i += len(word)
                    rest = expr[i:].lstrip()
                    if rest.startswith("on") or rest.startswith("ignoring"):
                        j = expr.index(")", i) + 1; i = j
                    start = i
                    break
        i += 1
    parts.append(expr[start:])
    return [p.strip() for p in parts if p.strip()] if len(parts) > 1 else []


FALLBACK = re.compile(r"\s+or\s+on\(\)\s+vector\(0\)\s*$")


def main():
    args = sys.argv[1:]
    strict = "--strict" in args
    args = [a for a in args if a != "--strict"]
    board = json.load(open(args[0]))
    for p in board["panels"]:
        for t in p.get("targets", []):
            e = t["expr"]
            for k, v in GRAFANA_VARS.items():
                e = e.replace(k, v)
            if strict:
                if "pier_advisor_" in e:
                    continue
                e = FALLBACK.sub("", e)
            print(json.dumps({"where": "panel " + p["title"], "expr": e}))
    if strict:
        return
    for g in yaml.safe_load(open(args[1]))["groups"]:
        for r in g["rules"]:
            e = with_bool(r["expr"])
            print(json.dumps({"where": "rule " + (r.get("alert") or r.get("record")), "expr": e,
                              "parts": top_level_parts(e)}))


if __name__ == "__main__":
    main()
