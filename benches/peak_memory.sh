#!/bin/sh
# Peak memory (max RSS) of the release binary on the worst hostile inputs.
# Usage: benches/peak_memory.sh [path/to/proxy-triage]   (needs /usr/bin/time: apt-get install time)
# Inputs are generated in a temporary directory, removed at the end.
set -eu
BIN=${1:-target/release/proxy-triage}
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 3; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
python3 - <<'PY'
import zlib, struct, binascii
cap = ("C:\\>reg compare \"HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" "
       "\"HKU\\S-1-5-18\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\" "
       "/v DefaultConnectionSettings\r\nERROR: The system was unable to find the specified registry key or value.\r\n").encode()
# 50 MB single line, in a console capture and in a .reg export.
with open("line50.txt", "wb") as f:
    f.write(cap)
    for _ in range(50):
        f.write(b"X" * (1 << 20))
    f.write(b"\r\n")
with open("line50.reg", "wb") as f:
    f.write(b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\x]\r\n\"a\"=\"")
    for _ in range(50):
        f.write(b"B" * (1 << 20))
    f.write(b"\"\r\n")
# A hex value continued over a million lines.
with open("hex1m.reg", "wb") as f:
    f.write(b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_USERS\\S-1-5-18\\Software\\Microsoft\\Windows"
            b"\\CurrentVersion\\Internet Settings\\Connections]\r\n\"DefaultConnectionSettings\"=hex:46,00,00,00,\\\r\n")
    f.write(b"  00,00,00,00,\\\r\n" * 1000000)
    f.write(b"  00\r\n")
# NUL flood (64 MiB), no line break at all.
with open("nul.bin", "wb") as f:
    for _ in range(64):
        f.write(b"\0" * (1 << 20))
# Zip bomb: one entry of 4 GiB of zeros (deflated ~4 MB) beside a valid capture; default caps.
def zip_entry(name, data_iter, size):
    comp = zlib.compressobj(1, zlib.DEFLATED, -15)
    crc, out = 0, []
    for chunk in data_iter:
        crc = binascii.crc32(chunk, crc)
        out.append(comp.compress(chunk))
    out.append(comp.flush())
    return name.encode(), b"".join(out), crc & 0xFFFFFFFF, size
entries = [zip_entry("compare.txt", [cap], len(cap)),
           zip_entry("zeros.bin", (b"\0" * (1 << 24) for _ in range(256)), 1 << 32)]
def write_zip(path, lie):
  with open(path, "wb") as f:
    central, off = b"", 0
    for name, data, crc, size in entries:
        usize = min(size, 0xFFFFFFFF)
        if lie and size > len(cap):
            usize = 16  # a lying header: the reader must stop at the cap all the same
        hdr = struct.pack("<IHHHHHIIIHH", 0x04034b50, 20, 0, 8, 0, 0, crc, len(data), usize, len(name), 0)
        f.write(hdr + name + data)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014b50, 20, 20, 0, 8, 0, 0, crc, len(data), usize,
                               len(name), 0, 0, 0, 0, 0, off) + name
        off += len(hdr) + len(name) + len(data)
    f.write(central + struct.pack("<IHHHHIIH", 0x06054b50, 0, 0, len(entries), len(entries), len(central), off, 0))
write_zip("bomb.zip", False)
write_zip("bomb-liar.zip", True)
PY
printf '%-34s %12s %8s %s\n' "input" "max RSS KiB" "secs" "exit"
measure() {
    label=$1; shift
    set +e
    /usr/bin/time -f "%M %e" -o time.txt "$BIN" "$@" >/dev/null 2>err.txt
    rc=$?
    set -e
    read -r rss secs <<TIME
$(tail -n 1 time.txt)
TIME
    printf '%-34s %12s %8s %s\n' "$label" "$rss" "$secs" "$rc"
}
measure "parse line50.txt (capture)" parse line50.txt
measure "parse line50.reg (.reg)" parse line50.reg
measure "analyze line50.txt" analyze --format json line50.txt
measure "parse hex1m.reg" parse hex1m.reg
measure "analyze hex1m.reg" analyze --format json hex1m.reg
measure "parse nul.bin" parse nul.bin
measure "analyze nul.bin" analyze --format json nul.bin
measure "analyze bomb.zip (default caps)" analyze --format json bomb.zip
measure "analyze bomb-liar.zip (default)" analyze --format json bomb-liar.zip
measure "analyze bomb-liar.zip (64 MiB)" analyze --format json --max-entry-mib 64 bomb-liar.zip
