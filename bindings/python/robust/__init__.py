"""Python bindings for librobust.so, through ctypes (no compiled extension).

    import robust
    with robust.Model("models/cifar10-resnet18-w16.safetensors") as m:
        s = m.score("cat.png", claimed="cat")
        print(s.predicted_name, s.confidence, s.entropy, s.verdict)

Images may be file paths, PNG/JPEG bytes, or numpy uint8 arrays of shape (H, W, 3) (any size:
the library resizes them). Every library error becomes a RobustError subclass carrying the
library's message. Models free their memory when closed, at the end of a `with` block, or
when garbage-collected.

The library is found through $ROBUST_LIB, else the copy bundled in this package, else the
repository's release build, else the system loader's path.
"""
import ctypes
import ctypes.util
import os
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union

import numpy as np

__all__ = ["Model", "Score", "Conflict", "GateResult", "Policy", "Quality", "QualityThresholds", "quality",
           "RobustError", "InvalidArgumentError",
           "IOError", "ModelFormatError", "ImageError", "UnknownClassError", "entropy", "version",
           "set_num_threads", "get_num_threads", "set_adaptive_workers", "get_adaptive_workers", "blas_split_invariant", "library_path"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def _find_library() -> str:
    env = os.environ.get("ROBUST_LIB")
    if env:
        return env
    for c in (os.path.join(_HERE, "_lib", "librobust.so"),
              os.path.join(_HERE, "..", "..", "..", ".build", "release", "librobust.so")):
        if os.path.isfile(c):
            return os.path.abspath(c)
    found = ctypes.util.find_library("robust")
    if found:
        return found
    raise OSError("librobust.so not found: set ROBUST_LIB to its path, or build it with scripts/build-lib.sh "
                  "before `pip install ./bindings/python`")


library_path = _find_library()
_lib = ctypes.CDLL(library_path)

# ---- C declarations (include/robust.h) ---------------------------------------------------

OK, ERR_INVALID_ARGUMENT, ERR_IO, ERR_MODEL_FORMAT, ERR_IMAGE, ERR_UNKNOWN_CLASS, ERR_INTERNAL = range(7)
NO_CLAIM = -1
VERDICTS = {-1: None, 0: "consistent", 1: "conflict", 2: "uncertain"}
DECISIONS = {0: "accept", 1: "review", 2: "reject"}
REASONS = [(0x1, "unreadable"), (0x2, "label_conflict"), (0x4, "label_uncertain"),
           (0x8, "high_entropy"), (0x10, "low_confidence"), (0x20, "noisy"), (0x40, "blurry"),
           (0x80, "bad_exposure"), (0x100, "low_information")]
QUALITY_FLAGS = [(0x1, "noisy"), (0x2, "blurry"), (0x4, "dark"), (0x8, "light"), (0x10, "low_information")]


class _ModelInfo(ctypes.Structure):
    _fields_ = [("architecture", ctypes.c_char_p), ("width", ctypes.c_int32), ("num_classes", ctypes.c_int32),
                ("input_size", ctypes.c_int32), ("has_metadata", ctypes.c_int32)]


class _Score(ctypes.Structure):
    _fields_ = [("predicted_class", ctypes.c_int32), ("predicted_name", ctypes.c_char_p),
                ("confidence", ctypes.c_float), ("entropy", ctypes.c_float), ("entropy_normalized", ctypes.c_float),
                ("margin", ctypes.c_float), ("claimed_class", ctypes.c_int32), ("claimed_probability", ctypes.c_float),
                ("verdict", ctypes.c_int32), ("num_classes", ctypes.c_int32)]


class _QualityThresholds(ctypes.Structure):
    _fields_ = [("noisy_above", ctypes.c_float), ("blurry_below", ctypes.c_float), ("dark_below", ctypes.c_float),
                ("light_above", ctypes.c_float), ("low_information_below", ctypes.c_float),
                ("image_size", ctypes.c_int32)]


class _Quality(ctypes.Structure):
    _fields_ = [("detail", ctypes.c_float), ("sharpness", ctypes.c_float), ("brightness", ctypes.c_float),
                ("contrast", ctypes.c_float), ("entropy_bits", ctypes.c_float), ("hash", ctypes.c_uint64),
                ("flags", ctypes.c_uint32)]


class _Policy(ctypes.Structure):
    _fields_ = [("consistent_probability", ctypes.c_float), ("conflict_confidence", ctypes.c_float),
                ("conflict_probability", ctypes.c_float), ("max_entropy_normalized", ctypes.c_float),
                ("min_confidence", ctypes.c_float), ("check_quality", ctypes.c_int32),
                ("quality", _QualityThresholds)]


class _Conflict(ctypes.Structure):
    _fields_ = [("verdict", ctypes.c_int32), ("image_class", ctypes.c_int32), ("image_name", ctypes.c_char_p),
                ("image_confidence", ctypes.c_float), ("claimed_class", ctypes.c_int32),
                ("claimed_probability", ctypes.c_float), ("fused_class", ctypes.c_int32)]


class _Gate(ctypes.Structure):
    _fields_ = [("decision", ctypes.c_int32), ("reasons", ctypes.c_uint32), ("scored", ctypes.c_int32),
                ("score", _Score), ("quality_checked", ctypes.c_int32), ("quality", _Quality)]


_P = ctypes.c_void_p
_F = ctypes.POINTER(ctypes.c_float)
_U8 = ctypes.POINTER(ctypes.c_uint8)
_I32 = ctypes.POINTER(ctypes.c_int32)


def _declare(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_declare("robust_version", ctypes.c_char_p)
_declare("robust_last_error", ctypes.c_char_p)
_declare("robust_set_num_threads", ctypes.c_int, ctypes.c_int)
_declare("robust_get_num_threads", ctypes.c_int)
_declare("robust_set_adaptive_workers", ctypes.c_int, ctypes.c_int)
_declare("robust_get_adaptive_workers", ctypes.c_int)
_declare("robust_blas_split_invariant", ctypes.c_int)
_declare("robust_model_load", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_P))
_declare("robust_model_load_memory", ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(_P))
_declare("robust_model_free", None, _P)
_declare("robust_model_get_info", ctypes.c_int, _P, ctypes.POINTER(_ModelInfo))
_declare("robust_model_class_name", ctypes.c_char_p, _P, ctypes.c_int32)
_declare("robust_model_class_index", ctypes.c_int, _P, ctypes.c_char_p, _I32)
_declare("robust_model_set_max_pixels", ctypes.c_int, _P, ctypes.c_uint64)
_declare("robust_policy_default", None, ctypes.POINTER(_Policy))
_declare("robust_score_file", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_int32, ctypes.POINTER(_Policy),
         ctypes.POINTER(_Score), _F, ctypes.c_size_t)
_declare("robust_score_encoded", ctypes.c_int, _P, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int32,
         ctypes.POINTER(_Policy), ctypes.POINTER(_Score), _F, ctypes.c_size_t)
# The single-image call takes its buffers as addresses (numpy's .ctypes.data): data_as() cost
# about 2 us a pointer, a hundredth of a width-16 image's whole call.
_declare("robust_score_rgb", ctypes.c_int, _P, _P, ctypes.c_int32, ctypes.c_int32, ctypes.c_size_t, ctypes.c_int32,
         ctypes.POINTER(_Policy), ctypes.POINTER(_Score), _P, ctypes.c_size_t)
_declare("robust_score_rgb_batch", ctypes.c_int, _P, _U8, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32, _I32,
         ctypes.POINTER(_Policy), ctypes.POINTER(_Score), _F, ctypes.c_size_t)
_declare("robust_entropy", ctypes.c_int, _F, ctypes.c_size_t, _F, _F)
_declare("robust_check_conflict", ctypes.c_int, _P, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
         ctypes.POINTER(_Policy), ctypes.POINTER(_Conflict))
_declare("robust_gate", ctypes.c_int, _P, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
         ctypes.POINTER(_Policy), ctypes.POINTER(_Gate))
_declare("robust_quality_thresholds_default", None, ctypes.POINTER(_QualityThresholds))
_declare("robust_quality_thresholds_load", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_QualityThresholds))
_declare("robust_quality_encoded", ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64,
         ctypes.POINTER(_QualityThresholds), ctypes.POINTER(_Quality))
_declare("robust_quality_rgb", ctypes.c_int, _U8, ctypes.c_int32, ctypes.c_int32, ctypes.c_size_t,
         ctypes.POINTER(_QualityThresholds), ctypes.POINTER(_Quality))

# ---- Errors ------------------------------------------------------------------------------


class RobustError(Exception):
    """An error reported by librobust; `status` is the C status code, str() the library's message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class InvalidArgumentError(RobustError, ValueError):
    pass


class IOError(RobustError, OSError):  # noqa: A001 - the library's ROBUST_ERR_IO
    pass


class ModelFormatError(RobustError):
    pass


class ImageError(RobustError):
    pass


class UnknownClassError(RobustError, KeyError):
    def __str__(self):
        return self.args[0]


_ERRORS = {ERR_INVALID_ARGUMENT: InvalidArgumentError, ERR_IO: IOError, ERR_MODEL_FORMAT: ModelFormatError,
           ERR_IMAGE: ImageError, ERR_UNKNOWN_CLASS: UnknownClassError}


def _check(status: int) -> None:
    if status != OK:
        message = _lib.robust_last_error().decode("utf-8", "replace")
        raise _ERRORS.get(status, RobustError)(status, message)


# ---- Results -----------------------------------------------------------------------------


@dataclass
class QualityThresholds:
    """Image-quality thresholds (defaults: calibrated on CIFAR-10's training images, as robust.h's).
    QualityThresholds.load(path) reads a file from `audit-cli quality DIR --calibrate FILE`."""
    noisy_above: float = 0.0
    blurry_below: float = 0.0
    dark_below: float = 0.0
    light_above: float = 0.0
    low_information_below: float = 0.0
    image_size: int = 32

    def __post_init__(self):
        if (self.noisy_above, self.blurry_below, self.dark_below, self.light_above, self.low_information_below) == (0, 0, 0, 0, 0):
            d = _QualityThresholds()
            _lib.robust_quality_thresholds_default(ctypes.byref(d))
            self._set(d)

    def _set(self, d: "_QualityThresholds") -> None:
        self.noisy_above, self.blurry_below = d.noisy_above, d.blurry_below
        self.dark_below, self.light_above = d.dark_below, d.light_above
        self.low_information_below, self.image_size = d.low_information_below, d.image_size

    @classmethod
    def load(cls, path: Union[str, os.PathLike]) -> "QualityThresholds":
        d = _QualityThresholds()
        _check(_lib.robust_quality_thresholds_load(os.fsencode(path), ctypes.byref(d)))
        t = cls()
        t._set(d)
        return t

    def _c(self) -> _QualityThresholds:
        return _QualityThresholds(self.noisy_above, self.blurry_below, self.dark_below, self.light_above,
                                  self.low_information_below, self.image_size)


@dataclass
class Quality:
    """An image's quality measures (see robust.h's robust_quality) and the flags they raise."""
    detail: float
    sharpness: float
    brightness: float
    contrast: float
    entropy_bits: float
    hash: int
    flags: List[str]

    @staticmethod
    def _from(q: "_Quality") -> "Quality":
        return Quality(q.detail, q.sharpness, q.brightness, q.contrast, q.entropy_bits, q.hash,
                       [name for bit, name in QUALITY_FLAGS if q.flags & bit])


@dataclass
class Policy:
    """Verdict and gate thresholds (defaults as in robust.h)."""
    consistent_probability: float = 0.5
    conflict_confidence: float = 0.5
    conflict_probability: float = 0.1
    max_entropy_normalized: float = 0.6
    min_confidence: float = 0.3
    #: the gate reviews images the quality thresholds flag (noisy, blurry, dark/light, nearly empty)
    check_quality: bool = True
    quality: QualityThresholds = field(default_factory=QualityThresholds)

    def _c(self) -> _Policy:
        return _Policy(self.consistent_probability, self.conflict_confidence, self.conflict_probability,
                       self.max_entropy_normalized, self.min_confidence, int(bool(self.check_quality)),
                       self.quality._c())


@dataclass
class Score:
    predicted: int
    predicted_name: str
    confidence: float
    entropy: float
    entropy_normalized: float
    margin: float
    claimed: Optional[int]
    claimed_probability: Optional[float]
    verdict: Optional[str]
    #: all class probabilities (None in a gate result, which reports the summary only)
    probabilities: Optional[np.ndarray] = field(repr=False, default=None)

    @staticmethod
    def _from(s: _Score, probs: Optional[np.ndarray]) -> "Score":
        claimed = None if s.claimed_class == NO_CLAIM else s.claimed_class
        return Score(s.predicted_class, s.predicted_name.decode(), s.confidence, s.entropy, s.entropy_normalized,
                     s.margin, claimed, None if claimed is None else s.claimed_probability, VERDICTS[s.verdict], probs)


@dataclass
class Conflict:
    verdict: str
    image_class: int
    image_name: str
    image_confidence: float
    claimed_class: int
    claimed_probability: float
    fused_class: Optional[int]


@dataclass
class GateResult:
    decision: str
    reasons: List[str]
    score: Optional[Score]
    #: the image's quality measures (None when it did not decode or the policy skips the check)
    quality: Optional[Quality] = None


# ---- Functions ---------------------------------------------------------------------------


def version() -> str:
    """The library's version string, e.g. '0.2.0'."""
    return _lib.robust_version().decode()


def set_num_threads(n: int) -> None:
    """Worker threads per call (global; do not change while other threads score)."""
    _check(_lib.robust_set_num_threads(int(n)))


def get_num_threads() -> int:
    return _lib.robust_get_num_threads()


def set_adaptive_workers(on: bool) -> None:
    """Single-image calls run on one worker or all, whichever was faster in recent calls.
    Default on where blas_split_invariant() (scores are then identical either way), off
    elsewhere (the two arms' scores would differ in the last bits). Global, like
    set_num_threads."""
    _check(_lib.robust_set_adaptive_workers(1 if on else 0))


def get_adaptive_workers() -> bool:
    return bool(_lib.robust_get_adaptive_workers())


def blas_split_invariant() -> bool:
    """Whether the BLAS gives a product's elements the same bits however the work is split,
    so scores do not depend on the worker count (OpenBLAS 0.3.21 on AMD Zen 5: no)."""
    return bool(_lib.robust_blas_split_invariant())


def entropy(probs) -> tuple:
    """(nats, normalized to [0, 1]) softmax entropy of a probability vector from any model."""
    p = np.ascontiguousarray(probs, dtype=np.float32).ravel()
    nats, norm = ctypes.c_float(), ctypes.c_float()
    _check(_lib.robust_entropy(p.ctypes.data_as(_F), p.size, ctypes.byref(nats), ctypes.byref(norm)))
    return nats.value, norm.value


ImageLike = Union[str, os.PathLike, bytes, bytearray, memoryview, np.ndarray]


def quality(image: ImageLike, thresholds: Optional[QualityThresholds] = None, max_pixels: int = 0) -> Quality:
    """Quality measures and flags of a path, PNG/JPEG bytes, or a uint8 array (H, W, 3); no model needed."""
    out = _Quality()
    t = ctypes.byref(thresholds._c()) if thresholds else None
    if isinstance(image, np.ndarray):
        a = Model._rgb(image)
        _check(_lib.robust_quality_rgb(a.ctypes.data_as(_U8), a.shape[1], a.shape[0], 0, t, ctypes.byref(out)))
    else:
        b = Model._bytes(image)
        _check(_lib.robust_quality_encoded(b, len(b), int(max_pixels), t, ctypes.byref(out)))
    return Quality._from(out)


class Model:
    """A loaded model. Thread-safe for scoring: share one instance between threads."""

    def __init__(self, path: Union[str, os.PathLike, None] = None, *, data: Optional[bytes] = None):
        if (path is None) == (data is None):
            raise InvalidArgumentError(ERR_INVALID_ARGUMENT, "Model(): give a path or data=bytes, not both")
        handle = _P()
        if path is not None:
            _check(_lib.robust_model_load(os.fsencode(path), ctypes.byref(handle)))
        else:
            buf = bytes(data)
            _check(_lib.robust_model_load_memory(buf, len(buf), ctypes.byref(handle)))
        self._h = handle
        info = _ModelInfo()
        _check(_lib.robust_model_get_info(self._h, ctypes.byref(info)))
        self.architecture = info.architecture.decode()
        self.width = info.width
        self.num_classes = info.num_classes
        self.input_size = info.input_size
        self.has_metadata = bool(info.has_metadata)
        self.class_names = [_lib.robust_model_class_name(self._h, i).decode() for i in range(self.num_classes)]

    @classmethod
    def from_bytes(cls, data: bytes) -> "Model":
        return cls(data=data)

    # lifetime
    def close(self) -> None:
        """Frees the model now (idempotent)."""
        h, self._h = getattr(self, "_h", None), None
        if h:
            _lib.robust_model_free(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _handle(self):
        if not self._h:
            raise InvalidArgumentError(ERR_INVALID_ARGUMENT, "the model is closed")
        return self._h

    def class_index(self, name: Union[str, int, None]) -> int:
        """Index of a class name (or index); UnknownClassError lists the known names."""
        if name is None:
            return NO_CLAIM
        if isinstance(name, (int, np.integer)):
            return int(name)
        out = ctypes.c_int32()
        _check(_lib.robust_model_class_index(self._handle(), str(name).encode(), ctypes.byref(out)))
        return out.value

    def set_max_pixels(self, n: int) -> None:
        _check(_lib.robust_model_set_max_pixels(self._handle(), int(n)))

    # scoring
    def score(self, image: ImageLike, claimed: Union[str, int, None] = None, policy: Optional[Policy] = None) -> Score:
        """Scores a path, PNG/JPEG bytes, or a uint8 array (H, W, 3)."""
        h = self._handle()
        c = self.class_index(claimed)
        pol = ctypes.byref(policy._c()) if policy else None
        out = _Score()
        probs = np.empty(self.num_classes, dtype=np.float32)
        if isinstance(image, np.ndarray):
            a = self._rgb(image)  # a and probs stay alive until the call returns
            _check(_lib.robust_score_rgb(h, a.ctypes.data, a.shape[1], a.shape[0], 0, c, pol,
                                         ctypes.byref(out), probs.ctypes.data, probs.size))
        elif isinstance(image, (bytes, bytearray, memoryview)):
            b = bytes(image)
            _check(_lib.robust_score_encoded(h, b, len(b), c, pol, ctypes.byref(out), probs.ctypes.data_as(_F),
                                             probs.size))
        else:
            _check(_lib.robust_score_file(h, os.fsencode(image), c, pol, ctypes.byref(out), probs.ctypes.data_as(_F),
                                          probs.size))
        return Score._from(out, probs)

    def score_batch(self, images: np.ndarray, claimed: Optional[Sequence] = None,
                    policy: Optional[Policy] = None) -> List[Score]:
        """Scores a uint8 array (N, H, W, 3) in one call (faster than one image at a time)."""
        a = np.ascontiguousarray(images, dtype=np.uint8)
        if a.ndim != 4 or a.shape[3] != 3:
            raise InvalidArgumentError(ERR_INVALID_ARGUMENT, f"score_batch needs (N, H, W, 3) uint8, got {a.shape}")
        n = a.shape[0]
        cl = None
        if claimed is not None:
            if len(claimed) != n:
                raise InvalidArgumentError(ERR_INVALID_ARGUMENT, f"{len(claimed)} claims for {n} images")
            cl = np.array([self.class_index(x) for x in claimed], dtype=np.int32)
        out = (_Score * max(n, 1))()
        probs = np.empty((n, self.num_classes), dtype=np.float32)
        _check(_lib.robust_score_rgb_batch(self._handle(), a.ctypes.data_as(_U8), n, a.shape[2], a.shape[1],
                                           None if cl is None else cl.ctypes.data_as(_I32),
                                           ctypes.byref(policy._c()) if policy else None, out,
                                           probs.ctypes.data_as(_F), probs.size))
        return [Score._from(out[i], probs[i]) for i in range(n)]

    def check_conflict(self, image: Union[str, os.PathLike, bytes], claimed: Union[str, int],
                       policy: Optional[Policy] = None) -> Conflict:
        """Image (path or PNG/JPEG bytes) versus claimed metadata."""
        b = self._bytes(image)
        out = _Conflict()
        _check(_lib.robust_check_conflict(self._handle(), b, len(b), str(claimed).encode(),
                                          ctypes.byref(policy._c()) if policy else None, ctypes.byref(out)))
        return Conflict(VERDICTS[out.verdict], out.image_class, out.image_name.decode(), out.image_confidence,
                        out.claimed_class, out.claimed_probability, None if out.fused_class < 0 else out.fused_class)

    def gate(self, image: Union[str, os.PathLike, bytes], claimed: Union[str, int, None] = None,
             policy: Optional[Policy] = None) -> GateResult:
        """accept / review / reject for an upload (path or PNG/JPEG bytes), with the reasons."""
        b = self._bytes(image)
        out = _Gate()
        _check(_lib.robust_gate(self._handle(), b, len(b), None if claimed is None else str(claimed).encode(),
                                ctypes.byref(policy._c()) if policy else None, ctypes.byref(out)))
        score = None
        if out.scored:
            score = Score._from(out.score, None)
        return GateResult(DECISIONS[out.decision], [name for bit, name in REASONS if out.reasons & bit], score,
                          Quality._from(out.quality) if out.quality_checked else None)

    @staticmethod
    def _rgb(image: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(image)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise InvalidArgumentError(ERR_INVALID_ARGUMENT, f"images must be uint8 (H, W, 3), got {a.dtype} {a.shape}")
        return a

    @staticmethod
    def _bytes(image) -> bytes:
        if isinstance(image, (bytes, bytearray, memoryview)):
            return bytes(image)
        with open(image, "rb") as f:
            return f.read()
