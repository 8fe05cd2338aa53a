"""Command line: ``python -m zoo list`` and ``python -m zoo info NAME``."""
from __future__ import annotations

import argparse
import json
import sys

import zoo


def cmd_list(args) -> int:
    names = zoo.list_models(args.pattern)
    w = max((len(n) for n in names), default=4)
    print(f"{'name':<{w}}  {'family':<22} {'year':>4}  {'res':>4}  {'params (ref)':>14}  top-1 (ref)")
    for n in names:
        mi = zoo.info(n)
        figs = mi.figures
        p = f"{int(figs['params'].value):,}" if "params" in figs else "-"
        t = f"{figs['top1'].value:.1f}%" if "top1" in figs else "-"
        print(f"{n:<{w}}  {mi.family:<22} {mi.year:>4}  {mi.resolution:>4}  {p:>14}  {t}")
    return 0


def cmd_info(args) -> int:
    try:
        mi = zoo.info(args.name)
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2
    print(json.dumps(mi.to_dict(), indent=2))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m zoo", description="CNN Atlas model zoo")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("list", help="list registered models")
    s.add_argument("pattern", nargs="?", default="*")
    s.set_defaults(fn=cmd_list)
    s = sub.add_parser("info", help="facts about one model, with sources")
    s.add_argument("name")
    s.set_defaults(fn=cmd_info)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
