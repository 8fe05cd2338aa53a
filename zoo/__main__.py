"""Command line: ``python -m zoo list``, ``python -m zoo info NAME``,
``python -m zoo summary NAME [--resolution R] [--depth N] [--by stage|block|kind]
[--format table|csv|json]`` (the per-layer table of :func:`zoo.analyze`, ready for slides),
``python -m zoo evaluate MODEL FOLDER [--limit N] [--batch B] [--workers W]`` (top-1 and top-5
measured on a folder of images, see :mod:`zoo.evaluate`), ``python -m zoo summary --spec design.json``
(the same table for a design-lab spec, see :mod:`zoo.design`), ``python -m zoo design templates``
and ``python -m zoo design show NAME``."""
from __future__ import annotations

import argparse
import csv
import json
import sys

import zoo
from zoo import design, fmt
from zoo.analysis import uncounted_note


def cmd_list(args) -> int:
    names = zoo.list_models(args.pattern)
    w = max((len(n) for n in names), default=4)
    print(f"{'name':<{w}}  {'family':<22} {'year':>4}  {'res':>4}  {'params (ref)':>14}  top-1 (ref)")
    for n in names:
        mi = zoo.info(n)
        figs = mi.figures
        p = fmt.count(figs["params"].value) if "params" in figs else "-"
        if "top1" in figs:
            t = f"{figs['top1'].value:.1f}% (weights)"
        elif "top1_paper" in figs:
            t = f"{figs['top1_paper'].value:.1f}% (paper)"
        else:
            t = "-"
        print(f"{n:<{w}}  {mi.family:<22} {mi.year:>4}  {mi.resolution:>4}  {p:>14}  {t}")
    print("\nSources of every figure: python -m zoo info NAME")
    return 0


def cmd_info(args) -> int:
    try:
        mi = zoo.info(args.name)
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2
    print(json.dumps(mi.to_dict(), indent=2))
    return 0


# --- summary --------------------------------------------------------------------------------

COLUMNS = ("name", "type", "kind", "kernel", "stride", "groups", "input", "output", "params",
           "macs", "flops", "act_bytes", "mem_access")
HEADERS = {"name": "layer", "type": "type", "kind": "kind", "kernel": "kernel", "stride": "stride",
           "groups": "groups", "input": "input", "output": "output", "params": "params",
           "macs": "MACs", "flops": "FLOPs", "act_bytes": "act. bytes",
           "mem_access": "mem. access"}
NUMERIC = {"params", "macs", "flops", "act_bytes", "mem_access"}


def _dims(t) -> str:
    return "×".join(str(v) for v in t) if t else ""


def _kernel(t) -> str:
    if not t:
        return ""
    return str(t[0]) if len(set(t)) == 1 else "×".join(map(str, t))


def summary_rows(a, depth: int | None = None, by: str | None = None) -> list[dict]:
    """Rows of the summary: one per layer, per module at ``depth``, or per stage/block/kind."""
    if by:
        rows = {"stage": a.by_stage, "block": a.by_block, "kind": a.by_kind}[by]()
        return [{"name": r["group"], "type": r.get("block_type", ""), "kind": "",
                 "kernel": "", "stride": "", "groups": "", "input": "", "output": "",
                 **{k: r[k] for k in NUMERIC}, "layers": r["layers"]} for r in rows]
    if depth:
        return [{"name": r["group"], "type": r["type"], "kind": r["kind"], "kernel": "",
                 "stride": "", "groups": "", "input": _dims(r["in_shape"]),
                 "output": _dims(r["out_shape"]), **{k: r[k] for k in NUMERIC},
                 "layers": r["layers"]} for r in a.by_depth(depth)]
    return [{"name": x.name, "type": x.op, "kind": x.kind, "kernel": _kernel(x.kernel),
             "stride": _kernel(x.stride), "groups": x.groups if x.groups else "",
             "input": _dims(x.in_shape), "output": _dims(x.out_shape),
             **{k: getattr(x, k) for k in NUMERIC}, "layers": 1} for x in a.layers]


def _reference_line(a) -> str | None:
    mi = zoo.info(a.name)
    ref = zoo.registry.reference_models().get(mi.reference) if mi.reference else None
    if not ref or ref["resolution"] != a.resolution:
        return None
    same = "equal" if ref["macs"] == a.total_macs else f"DIFFERENT (ours {fmt.count(a.total_macs)})"
    return (f"reference {mi.reference} ({ref['source'].split('+')[0]}): {fmt.count(ref['macs'])} MACs at "
            f"{ref['resolution']}px, {fmt.count(ref['params'])} parameters; MACs {same}")


def format_table(a, rows: list[dict], first: str = "layer") -> str:
    """A fixed-width text table with a totals line (``first``: the first column's header)."""
    cols = [c for c in COLUMNS if any(str(r[c]) != "" for r in rows) or c == "name"]
    cells = [[first if c == "name" else HEADERS[c] for c in cols]]
    for r in rows:
        cells.append([fmt.count(r[c]) if c in NUMERIC else str(r[c]) for c in cols])
    total = {"name": "total", **{k: sum(r[k] for r in rows) for k in NUMERIC}}
    cells.append([fmt.count(total[c]) if c in NUMERIC else total.get(c, "") for c in cols])
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]

    def line(row):
        return "  ".join(v.rjust(w) if c in NUMERIC else v.ljust(w)
                         for v, w, c in zip(row, widths, cols)).rstrip()

    rule = "-" * len(line(cells[0]))
    out = [line(cells[0]), rule, *[line(r) for r in cells[1:-1]], rule, line(cells[-1])]
    return "\n".join(out)


def summary_header(a) -> list[str]:
    h, w = a.input_shape[2:]
    lines = [f"{a.name} at {h}×{w} (input {_dims(a.input_shape)}, output {_dims(a.output_shape)}): "
             f"{fmt.count(a.total_params)} parameters, {fmt.count(a.total_macs)} MACs = {fmt.count(a.total_flops)} FLOPs"]
    if a.unused_params:
        lines.append(f"{fmt.count(a.unused_params)} of the parameters belong to modules not run in eval "
                     "(auxiliary heads); the table lists what runs")
    if a.uncounted:
        lines.append(uncounted_note(a.uncounted, a.uncounted_macs))
    return lines


def cmd_summary(args) -> int:
    if args.depth is not None and args.depth < 1:
        print("--depth must be 1 or more", file=sys.stderr)
        return 2
    if (args.name is None) == (args.spec is None):
        print("give a model name or --spec FILE (one of the two)", file=sys.stderr)
        return 2
    label = args.name
    try:
        if args.spec:
            spec = read_spec(args.spec)
            label = f"{spec.get('name') or 'design'} (design spec {args.spec})"
            a = design.analyze(spec, args.resolution)
        else:
            a = zoo.analyze(args.name, args.resolution)
    except KeyError as e:
        print(e.args[0], file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = summary_rows(a, args.depth, args.by)
    ref = None if args.spec else _reference_line(a)
    if args.format == "json":
        print(json.dumps({
            "model": label, "resolution": list(a.input_shape[2:]),
            "input_shape": list(a.input_shape), "output_shape": list(a.output_shape),
            "conventions": a.conventions, "reference": ref,
            "totals": {"params": a.total_params, "unused_params": a.unused_params,
                       "macs": a.total_macs, "flops": a.total_flops,
                       "act_bytes": a.total_act_bytes, "mem_access": a.total_mem_access,
                       "uncounted": a.uncounted, "uncounted_macs": a.uncounted_macs},
            "rows": rows,
        }, indent=1))
    elif args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=[*COLUMNS, "layers"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    else:
        header = summary_header(a)
        header[0] = label + header[0][len(a.name):]
        print("\n".join(header))
        if ref:
            print(ref)
        print()
        print(format_table(a, rows, args.by or ("module" if args.depth else "layer")))
        print()
        print(a.conventions)
    return 0


# --- design specs -----------------------------------------------------------------------------

MAX_SPEC_BYTES = 1 << 20


def read_spec(path: str) -> dict:
    """A design spec from a JSON file (plain data: parsed, never executed); ValueError if it is not one."""
    with open(path, "rb") as f:
        raw = f.read(MAX_SPEC_BYTES + 1)
    if len(raw) > MAX_SPEC_BYTES:
        raise ValueError(f"{path} is larger than {MAX_SPEC_BYTES // 1024} KB: not a design spec")
    try:
        spec = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not JSON: {e}") from None
    design.validate(spec)
    return spec


def cmd_design(args) -> int:
    specs = design.templates()
    if args.what == "show":
        if args.name not in specs:
            print(f"unknown template {args.name!r}; one of {', '.join(specs)}", file=sys.stderr)
            return 2
        print(json.dumps(specs[args.name], indent=1))
        return 0
    w = max(len(n) for n in specs)
    print(f"{'template':<{w}}  {'blocks':<13} {'stages':>6}  {'res':>4}  {'params':>12}  {'MACs':>15}")
    for name, spec in specs.items():
        a = design.analyze(spec)
        kinds = "/".join(dict.fromkeys(st["block"] for st in spec["stages"]))
        print(f"{name:<{w}}  {kinds:<13} {len(spec['stages']):>6}  {spec['resolution']:>4}  "
              f"{fmt.count(a.total_params):>12}  {fmt.count(a.total_macs):>15}")
    print("\nEach equals the zoo model of the same name exactly. Save one to edit: "
          "python -m zoo design show resnet50 > my.json; then python -m zoo summary --spec my.json")
    return 0


# --- evaluate ---------------------------------------------------------------------------------

def cmd_evaluate(args) -> int:
    from zoo import evaluate as ev

    try:
        run = ev.Evaluation(args.model, args.folder, limit=args.limit, batch=args.batch, workers=args.workers)
    except (ev.FolderError, zoo.WeightsUnavailable, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from tqdm import tqdm

    bar = tqdm(total=len(run.items), unit="img", desc=args.model, file=sys.stderr, dynamic_ncols=True)
    try:
        for p in run.run():
            bar.n = p.done
            bar.set_postfix_str(f"top-1 {100 * p.correct1 / max(p.evaluated, 1):.1f} %", refresh=False)
            bar.refresh()
    except KeyboardInterrupt:
        pass  # stopped: what was measured so far is reported (and saved, marked as stopped)
    finally:
        bar.close()
    result = run.result()
    print("\n".join(ev.describe(result)))
    if args.json:
        print(json.dumps(result.to_dict(), indent=1))
    if not args.no_save and result.images:
        print(f"saved to {ev.save_result(result)} (the Pareto page shows it)")
    return 0 if result.images else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m zoo", description="CNN Atlas model zoo")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("list", help="list registered models")
    s.add_argument("pattern", nargs="?", default="*")
    s.set_defaults(fn=cmd_list)
    s = sub.add_parser("info", help="facts about one model, with sources")
    s.add_argument("name")
    s.set_defaults(fn=cmd_info)
    s = sub.add_parser("summary", help="per-layer shapes, parameters, MACs and memory")
    s.add_argument("name", nargs="?", default=None)
    s.add_argument("--spec", default=None, metavar="FILE",
                   help="a design-lab spec (JSON) instead of a registered model")
    s.add_argument("--resolution", type=int, default=None,
                   help="input side in pixels (default: the model's own)")
    s.add_argument("--depth", type=int, default=None,
                   help="sum the layers into modules N levels deep (1: top level)")
    s.add_argument("--by", choices=("stage", "block", "kind"), default=None,
                   help="sum the layers by stage, block or kind instead")
    s.add_argument("--format", choices=("table", "csv", "json"), default="table")
    s.set_defaults(fn=cmd_summary)
    s = sub.add_parser("design", help="design-lab templates: the zoo's networks as editable specs")
    s.add_argument("what", choices=("templates", "show"))
    s.add_argument("name", nargs="?", default="resnet50", help="template to show (with 'show')")
    s.set_defaults(fn=cmd_design)
    s = sub.add_parser("evaluate", help="top-1 and top-5 of a pretrained model on a folder of images")
    s.add_argument("model")
    s.add_argument("folder", help="one sub-folder per WordNet id (n01440764/...), or images plus "
                                  "labels.txt / labels.csv of 'file,class_index' lines")
    s.add_argument("--limit", type=int, default=None, help="at most N images, evenly spread over the folder")
    s.add_argument("--batch", type=int, default=32, help="images per forward pass (default 32)")
    s.add_argument("--workers", type=int, default=None, help="decoding worker processes (default: cores - 1)")
    s.add_argument("--json", action="store_true", help="also print the full result as JSON")
    s.add_argument("--no-save", action="store_true", help="do not keep the result for the Pareto page")
    s.set_defaults(fn=cmd_evaluate)
    args = p.parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
