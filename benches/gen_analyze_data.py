#!/usr/bin/env python3
"""Generates the `analyze` benchmark data sets (never committed):

  OUT/big-export/huge.reg  ~500 MB regedit export (UTF-16LE with BOM, CRLF): thousands of
                           ordinary HKCU\\Software\\<Vendor>\\<App>\\... keys with values of every
                           type (strings, dwords, qwords, wrapped hex, hex(2), hex(7), hex(0)),
                           and the proxy keys buried in the middle:
                             HKCU ...\\Connections        DefaultConnectionSettings = proxy.contoso.com:8080
                             HKU\\S-1-5-18 ...\\Connections DefaultConnectionSettings = the 0x09 default
                             HKU\\S-1-5-19 ...\\Connections (key without the value)
                           expected: local_system proxy-differs, local_service proxy-missing.
  OUT/batch/case-NNNN/     2,000 case folders of five files each: an HKCU export (UTF-16LE),
                           a `reg compare` capture (CP850), a `reg query` capture, `netsh winhttp
                           show proxy` output and a small sensor log, varied so verdicts differ.

Usage: python3 benches/gen_analyze_data.py [OUT] [--size-mb 500] [--cases 2000]
       (OUT defaults to target/analyze-bench/, relative to the repository root)
"""
import argparse
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "fixtures"))
from generate_cases import (  # noqa: E402  (the fixtures' own format helpers)
    CONN,
    CONN_UP,
    CU_BLOB,
    LS_DEFAULT,
    blob,
    compare_different,
    compare_not_found,
    export,
    netsh_direct,
    netsh_proxy,
    reg_hex,
    sensor_log_407,
)

VENDORS = ["Contoso", "Fabrikam", "Litware", "AdventureWorks", "Northwind", "Tailspin", "Wingtip", "Proseware"]
APPS = ["Studio", "Sync", "Viewer", "Agent", "Updater", "Office", "Browser", "Shell"]
SUBKEYS = ["Settings", "Recent Files", "Window\\Placement", "Plugins\\Loaded", "Toolbars\\Main", "Licensing", "MRU", "Profiles\\Default"]
ZERO = "@@@@@@"  # replaced by a 6-digit chunk number, so every chunk has its own key names


def reg_typed_hex(tag, data, prefix):
    """Like reg_hex, for hex(N): types."""
    s = reg_hex(data, prefix)
    return s.replace(prefix + "hex:", prefix + "hex(%s):" % tag, 1)


def utf16z(s):
    return s.encode("utf-16-le") + b"\0\0"


def ordinary_key(n):
    """One ordinary key (text, CRLF) with values of every type; `ZERO` marks the chunk number."""
    v = VENDORS[n % len(VENDORS)]
    a = APPS[(n // 8) % len(APPS)]
    sub = SUBKEYS[(n // 64) % len(SUBKEYS)]
    path = "HKEY_CURRENT_USER\\Software\\%s\\%s%s\\%s\\Item%s-%04d" % (v, a, ZERO, sub, ZERO, n)
    lines = ["", "[%s]" % path]
    lines.append('"DisplayName"="%s %s window %d \\"quoted\\" C:\\\\Users\\\\Public\\\\%s"' % (v, a, n, a))
    lines.append('"Enabled"=dword:%08x' % (n * 2654435761 % 2**32))
    lines.append('"LastRun"=hex(b):%s' % ",".join("%02x" % ((n >> (8 * i)) & 0xFF) for i in range(8)))
    lines.append(reg_typed_hex("2", utf16z("%%ProgramFiles%%\\%s\\%s\\bin\\%s.exe" % (v, a, a.lower())), '"InstallPath"='))
    lines.append(reg_typed_hex("7", utf16z("first-%d" % n)[:-2] + utf16z("second") + b"\0\0", '"Servers"='))
    blob_len = 48 + (n * 37) % 400
    data = bytes(((i * 31) ^ n) & 0xFF for i in range(blob_len))
    lines.append(reg_hex(data, '"WindowState"='))
    lines.append('"Empty"=hex(0):')
    lines.append('@="default value %d"' % n)
    return "\r\n".join(lines)


def proxy_keys():
    """The keys the analyser needs, as export() writes them (without its header)."""
    keys = [
        ("HKEY_CURRENT_USER\\" + CONN, [("DefaultConnectionSettings", "bin", CU_BLOB), ("SavedLegacySettings", "bin", CU_BLOB)]),
        ("HKEY_USERS\\S-1-5-18\\" + CONN, [("DefaultConnectionSettings", "bin", LS_DEFAULT)]),
        ("HKEY_USERS\\S-1-5-19\\" + CONN, []),
    ]
    text = export(keys)[2:].decode("utf-16-le")
    return text.split("\r\n", 1)[1].rstrip("\r\n")


def big_export(path, size_mb):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    chunk = "\r\n".join(ordinary_key(n) for n in range(400))
    chunk_bytes = len(chunk) * 2  # every character is in the BMP
    chunks = max(2, size_mb * 1024 * 1024 // chunk_bytes)
    middle = chunks // 2
    with open(path, "wb", buffering=8 * 1024 * 1024) as f:
        f.write(b"\xff\xfe" + "Windows Registry Editor Version 5.00\r\n".encode("utf-16-le"))
        for i in range(chunks):
            if i == middle:
                f.write((proxy_keys() + "\r\n").encode("utf-16-le"))
            f.write((chunk.replace(ZERO, "%06d" % i) + "\r\n").encode("utf-16-le"))
        f.write("\r\n".encode("utf-16-le"))
    return chunks * 400


def reg_query(sid, b, prompt=True):
    key = "HKEY_USERS\\%s\\%s" % (sid, CONN)
    lines = []
    if prompt:
        lines.append('C:\\Users\\admin>reg query "HKU\\%s\\%s"' % (sid, CONN))
    lines += ["", key]
    if b is not None:
        lines.append("    DefaultConnectionSettings    REG_BINARY    %s" % b.hex().upper())
        lines.append("    SavedLegacySettings    REG_BINARY    %s" % b.hex().upper())
    lines.append("")
    return ("\r\n".join(lines) + "\r\n").encode("cp850")


def sensor_log_ok(i):
    lines = [
        "2024-03-%02d 08:%02d:01.1020 Info  Microsoft.Tri.Sensor.SensorService Sensor service starting [Version=2.230.17302.52103]" % (1 + i % 28, i % 60),
        "2024-03-%02d 08:%02d:05.2231 Info  Microsoft.Tri.Sensor.Common.Monitoring.Heartbeat Heartbeat [DroppedPackets=0 ErrorCount=0 TimedOutRequests=0]" % (1 + i % 28, i % 60),
        "2024-03-%02d 08:%02d:09.0007 Info  Microsoft.Tri.Sensor.SensorService Sensor service started" % (1 + i % 28, i % 60),
        "",
    ]
    return "\r\n".join(lines).encode("utf-8-sig")


def batch(out, cases):
    for i in range(cases):
        d = os.path.join(out, "case-%04d" % i)
        os.makedirs(d, exist_ok=True)
        port = 8080 + i % 5
        cu = blob(9 + i % 7, 3, "proxy%d.contoso.com:%d" % (i % 13, port), "<local>;*.contoso.com")
        same = blob(2 + i % 3, 3, "proxy%d.contoso.com:%d" % (i % 13, port), "<local>;*.contoso.com")
        other = blob(3, 3, "oldproxy%d:3128" % (i % 11), "<local>")
        hkcu = export([("HKEY_CURRENT_USER\\" + CONN, [("DefaultConnectionSettings", "bin", cu), ("SavedLegacySettings", "bin", cu)])])
        # LOCAL SYSTEM (compare): same proxy, another proxy, the untouched default, or not found.
        m = i % 4
        if m == 0:
            compare = compare_different("HKCU", "S-1-5-18", cu, same)
        elif m == 1:
            compare = compare_different("HKCU", "S-1-5-18", cu, other)
        elif m == 2:
            compare = compare_different("HKCU", "S-1-5-18", cu, LS_DEFAULT)
        else:
            compare = compare_not_found("S-1-5-18")
        # LOCAL SERVICE (query): same proxy, default, or a key without the value.
        q = i % 3
        query = reg_query("S-1-5-19", same if q == 0 else (LS_DEFAULT if q == 1 else None))
        netsh = netsh_direct() if i % 2 else netsh_proxy("proxy%d.contoso.com:%d" % (i % 13, port), "<local>;*.contoso.com")
        log = sensor_log_407() if i % 5 == 0 else sensor_log_ok(i)
        for name, data in (
            ("hkcu-connections.reg", hkcu),
            ("compare-system.txt", compare),
            ("query-localservice.txt", query),
            ("netsh-winhttp.txt", netsh),
            ("Microsoft.Tri.Sensor-Errors.log", log),
        ):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default=os.path.join(ROOT, "target", "analyze-bench"))
    ap.add_argument("--size-mb", type=int, default=500, help="size of big-export/huge.reg (MiB)")
    ap.add_argument("--cases", type=int, default=2000, help="number of batch case folders")
    ap.add_argument("--only", choices=["export", "batch"], help="generate one data set only")
    args = ap.parse_args()
    if args.only != "batch":
        t = time.time()
        path = os.path.join(args.out, "big-export", "huge.reg")
        keys = big_export(path, args.size_mb)
        print("%s: %d ordinary keys, %.0f MB, %.1fs" % (path, keys, os.path.getsize(path) / 1e6, time.time() - t))
    if args.only != "export":
        t = time.time()
        d = os.path.join(args.out, "batch")
        shutil.rmtree(d, ignore_errors=True)
        batch(d, args.cases)
        print("%s: %d cases x 5 files, %.1fs" % (d, args.cases, time.time() - t))


if __name__ == "__main__":
    main()
