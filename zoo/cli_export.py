"""`zoo export NAME --format onnx --out FILE`: the model's graph as ONNX, checked against PyTorch."""

from __future__ import annotations

import argparse
import json
import sys


def _cmd_export(args: argparse.Namespace) -> int:
    from . import load
    from .export import PARITY_TOLERANCE, ExportError, export_onnx

    out = args.out or f"{args.name}.onnx"
    try:
        report = export_onnx(load(args.name), out, opset=args.opset, check=not args.no_check)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{args.name}: wrote {report['path']}")
    for name, shape in report["inputs"].items():
        print(f"  input  {name}: [{', '.join(map(str, shape))}] float32")
    print(f"  output {', '.join(report['outputs'])}")
    if report["note"]:
        print(f"  note:  {report['note']}")
    for case, diff in report.get("parity", {}).items():
        print(f"  parity (onnxruntime vs PyTorch), {case}: max |diff| {diff:.1e} (<= {PARITY_TOLERANCE:g})")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="export a model's graph (ONNX) and check it against PyTorch")
    p.add_argument("name", help="a registered model (see `zoo list`)")
    p.add_argument("--format", choices=["onnx"], default="onnx")
    p.add_argument("--out", default=None, help="output file (default NAME.onnx)")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime parity check")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(fn=_cmd_export)
