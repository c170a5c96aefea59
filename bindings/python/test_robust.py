"""Checks that the Python bindings load librobust.so and call into it."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import robust  # noqa: E402

header = open(os.path.join(os.path.dirname(__file__), "..", "..", "include", "robust.h")).read()
expected = re.search(r'#define ROBUST_VERSION "([^"]+)"', header).group(1)
assert robust.version() == expected, (robust.version(), expected)
print("python bindings: ok (librobust", robust.version() + ")")
