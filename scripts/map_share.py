#!/usr/bin/env python3
"""Bytes that a GNU ld map file's kept input sections take from one archive.

    map_share.py MAP ARCHIVE

Sums the sizes of the .text*, .rodata*, .data*, .bss*, .tbss* ... input
sections whose object lies in ARCHIVE (a path or file name), skipping the
map's "Discarded input sections" (what --gc-sections dropped), and prints
flash (.text + .rodata + .ARM.exidx + .data) and RAM (.data + .bss + .tbss).
make embedded-bench runs it on the fine-tune demo's map (docs/EXPORT.md)."""
import collections
import re
import sys


def share(path, archive):
    sizes, sec, discarded = collections.Counter(), None, False
    for line in open(path):
        if line.startswith("Discarded input sections"):
            discarded = True
        elif line.startswith("Memory Configuration"):
            discarded = False
        if discarded:
            continue
        m = re.match(r"^ (\.[A-Za-z_]+)\S*(?:\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S+))?\s*$", line)
        if m:  # a section on one line, or its name alone with the rest on the next
            sec = None if m.group(4) else m.group(1)
            if m.group(4) and archive in m.group(4):
                sizes[m.group(1)] += int(m.group(3), 16)
            continue
        m = re.match(r"^\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S+)\s*$", line)
        if m and sec and archive in m.group(3):
            sizes[sec] += int(m.group(2), 16)
        sec = None
    return sizes


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: map_share.py MAP ARCHIVE")
    s = share(sys.argv[1], sys.argv[2])
    flash = s[".text"] + s[".rodata"] + s[".ARM"] + s[".data"]
    ram = s[".data"] + s[".bss"] + s[".tbss"]
    print("%s: flash %d B (.text %d, .rodata %d, .ARM.exidx %d, .data %d); RAM %d B (.bss %d, .tbss %d)"
          % (sys.argv[2], flash, s[".text"], s[".rodata"], s[".ARM"], s[".data"], ram, s[".bss"],
             s[".tbss"]))


if __name__ == "__main__":
    main()
