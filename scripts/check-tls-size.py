#!/usr/bin/env python3
"""Fails when a binary's thread-local storage block is larger than a limit.

glibc sets up the whole static TLS block (PT_TLS memsz) for every thread it
starts, so a thread-local array is paid for in RSS by each of the panel's
threads, idle or not (a 32 KB `__thread` scratch array once cost ~400 KB).

  scripts/check-tls-size.py BINARY [LIMIT_BYTES]   exit 0 within, 1 over
"""
import struct
import sys

PT_TLS = 7


def tls_memsz(path):
    with open(path, "rb") as f:
        ident = f.read(16)
        if ident[:4] != b"\x7fELF" or ident[4] != 2:
            raise ValueError(f"{path}: not a 64-bit ELF file")
        end = "<" if ident[5] == 1 else ">"
        f.seek(0x20)
        (phoff,) = struct.unpack(end + "Q", f.read(8))
        f.seek(0x36)
        phentsize, phnum = struct.unpack(end + "HH", f.read(4))
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            ptype, _flags, _off, _va, _pa, _filesz, memsz = struct.unpack(end + "IIQQQQQ", f.read(48))
            if ptype == PT_TLS:
                return memsz
    return 0


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    limit = int(sys.argv[2]) if len(sys.argv) == 3 else 1024
    size = tls_memsz(sys.argv[1])
    if size > limit:
        print(f"{sys.argv[1]}: thread-local storage is {size} bytes (limit {limit}): every "
              "thread pays for it; move large __thread/_Thread_local arrays to the heap")
        return 1
    print(f"{sys.argv[1]}: thread-local storage {size} bytes (limit {limit})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
