#!/usr/bin/env python3
"""Writes the test disk of testos's "virtio" and "vbench" groups
(guest/testos/test_virtio.c): SECTORS sectors of 512 bytes, sector s holding
128 little-endian words, word i = 0x5A000000 + s * 128 + i.

    scripts/mkvdisk.py OUT SECTORS
"""
import struct
import sys

out, sectors = sys.argv[1], int(sys.argv[2])
with open(out, "wb") as f:
    for s in range(sectors):
        f.write(struct.pack("<128I", *((0x5A000000 + s * 128 + i) & 0xFFFFFFFF for i in range(128))))
