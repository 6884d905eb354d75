#!/usr/bin/env python3
"""End-to-end check of `analyze` on the data of gen_analyze_data.py: every answer is known.

  big-export/huge.reg   verdict misconfigured; LOCAL SERVICE proxy-missing citing the line of
                        its Connections key (which has no value), LOCAL SYSTEM proxy-differs
                        citing the line of its DefaultConnectionSettings value (the line
                        numbers are found in the file itself, independently of the tool).
  batch/case-NNNN       healthy exactly when LOCAL SYSTEM and LOCAL SERVICE both hold the
                        user's proxy and the sensor log has no 407 (i % 4 == 0, i % 3 == 0,
                        i % 5 != 0); misconfigured otherwise.

Usage: python3 benches/check_analyze_data.py [DATA] [--bin target/release/proxy-triage]
Exit 0 when every answer holds; prints the first differences otherwise.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def key_lines(path, suffixes):
    """1-based line numbers of the key lines `[HKEY_...<suffix>]`, read from the raw file."""
    found = {}
    with open(path, "rb") as f:
        data = f.read()
    text = data[2:].decode("utf-16-le")
    current = None
    for n, line in enumerate(text.split("\r\n"), start=1):
        if line.startswith("[HKEY_"):
            current = None
            for name, suffix in suffixes.items():
                if line == "[" + suffix + "]":
                    found[name] = n
                    current = name
        elif current and line.startswith('"DefaultConnectionSettings"='):
            found[current + "/value"] = n
    return found


def check_export(tool, data):
    path = os.path.join(data, "big-export", "huge.reg")
    conn = "Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections"
    want = key_lines(path, {
        "local_system": "HKEY_USERS\\S-1-5-18\\" + conn,
        "local_service": "HKEY_USERS\\S-1-5-19\\" + conn,
    })
    out = subprocess.run([tool, "analyze", path, "--format", "json", "-q"], capture_output=True, check=False)
    case = json.loads(out.stdout)["cases"][0]
    errors = []
    if case["verdict"] != "misconfigured":
        errors.append("export: verdict %s, expected misconfigured" % case["verdict"])
    for fid, principal, at in (
        ("proxy-missing", "local_service", "local_service"),
        ("proxy-differs", "local_system", "local_system/value"),
    ):
        f = [x for x in case["findings"] if x["id"] == fid and x.get("principal") == principal]
        lines = [e.get("line") for x in f for e in x.get("evidence", [])]
        if not f:
            errors.append("export: no %s for %s" % (fid, principal))
        elif want.get(at) not in lines:
            errors.append("export: %s for %s cites lines %s, expected line %s" % (fid, principal, lines, want.get(at)))
    print("export: %s; LOCAL SERVICE key (no value) at line %s, LOCAL SYSTEM value at line %s" % (case["verdict"], want.get("local_service"), want.get("local_system/value")))
    return errors


def check_batch(tool, data):
    d = os.path.join(data, "batch")
    out = subprocess.run([tool, "analyze", "--batch", d, "--format", "jsonl", "-q"], capture_output=True, check=False)
    errors = []
    seen = 0
    for line in out.stdout.splitlines():
        c = json.loads(line)
        i = int(c["case"].rsplit("-", 1)[1])
        want = "healthy" if i % 4 == 0 and i % 3 == 0 and i % 5 != 0 else "misconfigured"
        seen += 1
        if c["verdict"] != want:
            errors.append("%s: %s, expected %s" % (c["case"], c["verdict"], want))
    cases = len([n for n in os.listdir(d) if n.startswith("case-")])
    if seen != cases:
        errors.append("batch: %d verdicts for %d cases" % (seen, cases))
    print("batch: %d cases judged, %d as expected" % (seen, seen - len(errors)))
    return errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", default=os.path.join(ROOT, "target", "analyze-bench"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "proxy-triage"))
    args = ap.parse_args()
    errors = check_export(args.bin, args.data) + check_batch(args.bin, args.data)
    for e in errors[:20]:
        print("FAIL " + e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
