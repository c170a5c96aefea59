"""Python bindings for librobust.so through ctypes (no compiled extension needed).

The library is found through $ROBUST_LIB, else the package's release build folder.
"""
import ctypes
import os
import subprocess

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.abspath(os.path.join(_HERE, "..", ".."))


def _find_library():
    env = os.environ.get("ROBUST_LIB")
    if env:
        return env
    try:
        bin_path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=_ROOT,
                                  capture_output=True, text=True, check=True).stdout.strip()
        return os.path.join(bin_path, "librobust.so")
    except (OSError, subprocess.CalledProcessError):
        return os.path.join(_ROOT, ".build", "release", "librobust.so")


_lib = ctypes.CDLL(_find_library())
_lib.robust_version.restype = ctypes.c_char_p
_lib.robust_version.argtypes = []


def version() -> str:
    """The library's version string, e.g. '0.1.0'."""
    return _lib.robust_version().decode()
