#!/usr/bin/env python3
"""Reads the memcheck logs (vg.PID) under DIR and fails on any error other
than a leak, and on any leaked block whose allocation the library under
test made: the first frame above the allocator is in LIBDIR's libsasl2.
Prints why it failed (at most a few records), nothing when clean.

usage: valgrind-check.py DIR LIBDIR
"""
import glob
import os
import re
import sys

ALLOCATOR = re.compile(r"\b(malloc|calloc|realloc|reallocarray|memalign|posix_memalign|aligned_alloc|"
                       r"strdup|strndup|operator new|__rust_alloc|__rust_realloc|__rust_alloc_zeroed|"
                       r"__rdl_alloc|__rdl_realloc|alloc::alloc::)")
ERROR = re.compile(r"Invalid (read|write|free)|uninitialised|Conditional jump|Mismatched free|"
                   r"overlap|Syscall param|Argument '.*' of function")


def records(text):
    """Each memcheck record: the lines of one message, without the ==PID== prefix."""
    block = []
    for line in text.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if not body.strip():
            if block:
                yield block
            block = []
        else:
            block.append(body)
    if block:
        yield block


def main():
    root, libdir = sys.argv[1], os.path.realpath(sys.argv[2])
    ours = re.compile(r"\(in " + re.escape(libdir) + r"/libsasl2\.so[^)]*\)")
    problems = []
    for path in sorted(glob.glob(os.path.join(root, "**", "vg.*"), recursive=True)):
        with open(path, errors="replace") as f:
            text = f.read()
        for rec in records(text):
            head = rec[0]
            frames = [re.sub(r"^\s*(at|by) ", "", l) for l in rec if re.match(r"\s*(at|by) 0x", l)]
            if "definitely lost" in head or "indirectly lost" in head:
                callers = [l for l in frames if not ALLOCATOR.search(l)]
                if callers and ours.search(callers[0]):
                    problems.append(f"{os.path.basename(path)}: {head.strip()}, allocated at {callers[0]}")
            elif ERROR.search(head):
                where = next((l for l in frames if ours.search(l)), frames[0] if frames else "")
                problems.append(f"{os.path.basename(path)}: {head.strip()} ({where})")
    if problems:
        print(f"{len(problems)} problems: " + "; ".join(problems[:4]))
        sys.exit(1)


if __name__ == "__main__":
    main()
