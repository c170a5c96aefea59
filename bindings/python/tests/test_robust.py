"""pytest for the ctypes bindings: every call, numpy and path inputs, errors as exceptions,
handles freed deterministically, one model shared by threads, and agreement with audit-cli."""
import json
import os
import re
import struct
import subprocess
import threading
import zlib

import numpy as np
import pytest

import robust

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODEL = os.path.join(ROOT, "Tests", "RobustCoreTests", "Fixtures", "resnet18_w4.safetensors")


def png_bytes(a: np.ndarray) -> bytes:
    """A minimal PNG writer (8-bit RGB), so the tests need nothing beyond numpy."""
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def model():
    with robust.Model(MODEL) as m:
        yield m


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)


def test_version_matches_header():
    header = open(os.path.join(ROOT, "include", "robust.h")).read()
    assert robust.version() == re.search(r'#define ROBUST_VERSION "([^"]+)"', header).group(1)


def test_info(model):
    assert model.architecture == "resnet18-cifar"
    assert (model.width, model.num_classes, model.input_size, model.has_metadata) == (4, 10, 32, False)
    assert model.class_names[3] == "cat"
    assert model.class_index("cat") == 3 and model.class_index("CAT") == 3 and model.class_index(7) == 7


def test_paths_bytes_and_arrays_agree(model, images, tmp_path):
    img = images[0]
    data = png_bytes(img)
    path = tmp_path / "x.png"
    path.write_bytes(data)
    a = model.score(img, claimed="cat")
    b = model.score(data, claimed=3)
    c = model.score(str(path), claimed="cat")
    d = model.score(path)
    for s in (b, c, d):
        np.testing.assert_allclose(s.probabilities, a.probabilities, rtol=0, atol=1e-6)
    assert a.claimed == 3 and a.verdict in ("consistent", "conflict", "uncertain")
    assert d.claimed is None and d.verdict is None and d.claimed_probability is None
    assert abs(a.probabilities.sum() - 1) < 1e-5
    assert a.claimed_probability == pytest.approx(float(a.probabilities[3]))
    nats, norm = robust.entropy(a.probabilities)
    assert nats == pytest.approx(a.entropy, abs=1e-5) and norm == pytest.approx(a.entropy_normalized, abs=1e-5)
    # any size is resized by the library
    assert model.score(np.zeros((7, 50, 3), dtype=np.uint8)).probabilities.shape == (10,)


def test_batch_matches_single(model, images):
    batch = model.score_batch(images, claimed=["cat", None, 0, 9, "ship"])
    for i, s in enumerate(batch):
        one = model.score(images[i])
        np.testing.assert_allclose(s.probabilities, one.probabilities, atol=1e-5)
    assert batch[1].claimed is None and batch[4].claimed == 8


def test_conflict_and_gate(model, images):
    data = png_bytes(images[1])
    c = model.check_conflict(data, "dog")
    assert c.claimed_class == 5 and c.fused_class is None and c.verdict in ("consistent", "conflict", "uncertain")
    g = model.gate(data, "dog")
    assert g.decision in ("accept", "review", "reject") and g.score is not None
    lax = robust.Policy(max_entropy_normalized=1, min_confidence=0, consistent_probability=0, check_quality=False)
    g = model.gate(data, "dog", policy=lax)
    assert g.decision == "accept" and g.quality is None
    bad = model.gate(data[:40], "dog")
    assert (bad.decision, bad.reasons, bad.score, bad.quality) == ("reject", ["unreadable"], None, None)
    # uniform random pixels are far noisier than any CIFAR-10 photograph: the quality check reviews them
    lax.check_quality = True
    g = model.gate(data, "dog", policy=lax)
    assert g.decision == "review" and g.reasons == ["noisy"] and g.quality.flags == ["noisy"]


def test_quality_without_a_model(images, tmp_path):
    q = robust.quality(images[0])
    assert q.flags == ["noisy"] and q.detail > robust.QualityThresholds().noisy_above
    assert robust.quality(png_bytes(images[0])) == q
    path = tmp_path / "noise.png"
    path.write_bytes(png_bytes(images[0]))
    assert robust.quality(str(path)) == q
    flat = np.full((32, 32, 3), 128, dtype=np.uint8)
    f = robust.quality(flat)
    assert f.detail == 0 and f.entropy_bits == 0 and f.flags == ["blurry", "low_information"]
    dark = robust.quality(np.full((32, 32, 3), 5, dtype=np.uint8))
    assert "dark" in dark.flags and dark.brightness < 0.05
    # thresholds: defaults, a calibration file, and bad values
    t = robust.QualityThresholds()
    assert t.image_size == 32 and 0 < t.blurry_below < t.noisy_above
    cal = tmp_path / "cal.json"
    cal.write_text(json.dumps({"format": "robust-quality-calibration", "version": 1, "images": 100, "noisy_above": 0.9,
                               "blurry_below": 0.0, "dark_below": 0.0, "light_above": 1.0,
                               "low_information_below": 0.0, "near_duplicate_bits": 2}))
    loose = robust.QualityThresholds.load(cal)
    assert loose.noisy_above == pytest.approx(0.9) and robust.quality(images[0], loose).flags == []
    with pytest.raises(robust.InvalidArgumentError, match="out of order"):
        robust.quality(images[0], robust.QualityThresholds(noisy_above=0.1, blurry_below=0.2))
    with pytest.raises(robust.IOError):
        robust.QualityThresholds.load(tmp_path / "missing.json")
    with pytest.raises(robust.InvalidArgumentError, match="not a quality calibration file"):
        robust.QualityThresholds.load(path)
    with pytest.raises(robust.ImageError):
        robust.quality(png_bytes(images[0])[:50])


def test_errors_are_exceptions_with_the_library_message(model, images, tmp_path):
    with pytest.raises(robust.UnknownClassError, match="unicorn.*airplane"):
        model.score(images[0], claimed="unicorn")
    with pytest.raises(robust.ImageError, match="<memory>"):
        model.score(png_bytes(images[0])[:50])
    with pytest.raises(robust.ImageError):
        model.score(b"")
    with pytest.raises(robust.IOError, match="nope.png"):
        model.score(str(tmp_path / "nope.png"))
    with pytest.raises(robust.InvalidArgumentError):
        model.score(images[0].astype(np.float32))
    with pytest.raises(robust.InvalidArgumentError):
        model.score(images[0], claimed=10)
    with pytest.raises(robust.InvalidArgumentError):
        robust.entropy([0.5, 0.7])
    with pytest.raises(robust.ModelFormatError):
        robust.Model(data=b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    not_model = tmp_path / "m.safetensors"
    not_model.write_bytes(png_bytes(images[0]))
    with pytest.raises(robust.ModelFormatError, match="m.safetensors"):
        robust.Model(not_model)
    with pytest.raises(robust.IOError):
        robust.Model(tmp_path / "missing.safetensors")
    with pytest.raises(robust.InvalidArgumentError):
        robust.set_num_threads(0)


def test_close_is_deterministic_and_idempotent(images):
    m = robust.Model.from_bytes(open(MODEL, "rb").read())
    m.score(images[0])
    m.close()
    m.close()
    with pytest.raises(robust.InvalidArgumentError, match="closed"):
        m.score(images[0])
    with robust.Model(MODEL) as m2:
        m2.score(images[0])
    assert m2._h is None


def test_adaptive_workers_switch_and_identical_scores(model, images):
    """Single-image calls on one worker or all give the same probabilities (bit for bit where
    the BLAS is split-invariant, else within 1e-5), and the switch round-trips (on by default
    exactly where the BLAS is split-invariant)."""
    invariant = robust.blas_split_invariant()
    assert robust.get_adaptive_workers() is invariant
    threads = robust.get_num_threads()
    try:
        robust.set_adaptive_workers(False)
        fixed = [model.score(images[0]).probabilities for _ in range(3)]
        robust.set_num_threads(1)
        one = model.score(images[0]).probabilities
        robust.set_num_threads(threads)
        robust.set_adaptive_workers(True)
        assert robust.get_adaptive_workers() is True
        adaptive = [model.score(images[0]).probabilities for _ in range(40)]
    finally:
        robust.set_num_threads(threads)
        robust.set_adaptive_workers(invariant)
    assert all(list(p) == list(fixed[0]) for p in fixed), "the same arm: the same bits"
    if invariant:
        assert all(list(p) == list(fixed[0]) for p in [one] + adaptive)
    else:
        assert all(max(abs(a - b) for a, b in zip(p, fixed[0])) < 1e-5 for p in [one] + adaptive)


def test_threads_share_one_model(model, images):
    reference = [model.score(im).probabilities for im in images]
    mismatches = []

    def work(t):
        for r in range(10):
            i = (t + r) % len(images)
            if not np.array_equal(model.score(images[i]).probabilities, reference[i]):
                mismatches.append((t, r))
    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert mismatches == []


def test_same_probabilities_as_audit_cli(model, images, tmp_path):
    cli = os.path.join(ROOT, ".build", "release", "audit-cli")
    if not os.path.exists(cli):
        pytest.skip("audit-cli not built")
    paths = []
    for i, im in enumerate(images):
        p = tmp_path / f"{i}.png"
        p.write_bytes(png_bytes(im))
        paths.append(str(p))
    out = subprocess.run([cli, "score", "--model", MODEL, "--json", "--probabilities"] + paths,
                         capture_output=True, text=True)
    assert out.returncode in (0, 1), out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    for p, row in zip(paths, rows):
        np.testing.assert_allclose(row["probabilities"], model.score(p).probabilities, atol=1e-5)


def test_fusionnet_scores_with_its_image_path_and_reports_the_fused_class(images, tmp_path):
    cli = os.path.join(ROOT, ".build", "release", "audit-cli")
    if not os.path.exists(cli):
        pytest.skip("audit-cli not built")
    data, out = tmp_path / "data", tmp_path / "fusion"
    subprocess.run([cli, "synth", "--out", str(data), "--train", "20", "--test", "10"], check=True, capture_output=True)
    subprocess.run([cli, "fusion", "--data", str(data), "--width", "2", "--epochs", "1", "--out", str(out), "--save-models"],
                   check=True, capture_output=True)
    with robust.Model(out / "fusion-agree1-pm0-pi0.safetensors") as m:
        assert m.has_metadata and m.architecture == "fusionnet-cifar" and m.num_classes == 10
        png = png_bytes(images[0])
        s = m.score(png)
        for claim in ("cat", 0, "truck"):
            c = m.check_conflict(png, claim)
            assert c.fused_class in range(10)
            # the verdict comes from the image alone: the same for any claim, and equal to score()
            assert c.image_class == s.predicted and abs(c.image_confidence - s.confidence) < 1e-6
