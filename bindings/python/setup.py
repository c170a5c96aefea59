"""Bundles librobust.so into the package when it is built (pip install ./bindings/python).

The library is taken from $ROBUST_LIB, else from the repository's release build
(.build/release/librobust.so, made by scripts/build-lib.sh). Without either, the package is
built without it and finds the library at import time ($ROBUST_LIB or the loader's path).
"""
import os
import shutil

from setuptools import setup

here = os.path.dirname(os.path.abspath(__file__))
candidates = [os.environ.get("ROBUST_LIB"), os.path.join(here, "..", "..", ".build", "release", "librobust.so")]
dest = os.path.join(here, "robust", "_lib")
for c in candidates:
    if c and os.path.isfile(c):
        os.makedirs(dest, exist_ok=True)
        shutil.copy2(c, os.path.join(dest, "librobust.so"))
        break

setup()
