#!/usr/bin/env bash
# Fails if the shared library's dynamic exports drift from Debian's libsasl2:
# the same 72 names (types T/B as recorded), each at version SASL2, the
# SONAME libsasl2.so.2, and nothing else exported.
set -euo pipefail
lib=${1:?usage: check-exports.sh path/to/libsasl2.so.2}
here=$(cd "$(dirname "$0")" && pwd)
fail=0
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "libsasl2.so.2" ]; then echo "FAIL soname is '$soname'"; fail=1; fi
actual=$(nm -D --defined-only "$lib" | awk '$2 != "A" {print $2, $3}' | sort -k2)
expected=$(awk '{print $1, $2 "@@SASL2"}' "$here/expected-exports.txt" | sort -k2)
if [ "$actual" != "$expected" ]; then
  echo "FAIL exported symbols differ from Debian's libsasl2 (< expected, > actual):"
  diff <(echo "$expected") <(echo "$actual") || true
  fail=1
fi
versions=$(nm -D --defined-only "$lib" | awk '$2 == "A" {print $3}' | sort | tr '\n' ' ')
if [ "$versions" != "SASL2 " ]; then echo "FAIL version definitions: $versions"; fail=1; fi
# A library must not ask for an executable stack (an assembly object
# without .note.GNU-stack would make the linker mark it so).
if readelf -lW "$lib" | grep GNU_STACK | grep -q RWE; then echo "FAIL the library requests an executable stack"; fail=1; fi
n=$(echo "$actual" | wc -l)
if [ $fail -eq 0 ]; then echo "PASS exports: $n symbols at SASL2, soname libsasl2.so.2, no executable stack"; echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
