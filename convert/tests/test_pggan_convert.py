#!/usr/bin/python3
"""test_pggan_convert.py - tests of convert/pggan.py (run by CI when torch is present).

For each source format at small resolutions: write a seeded random checkpoint in the REAL
layout (pggan_fake.py) -> convert with the CLI -> canonical PyTorch forward on the .bin
(pggan_ref.PgganRef, float32, F.conv2d) == the format's native forward on the original
tensors (pggan_ref.karras_forward / zoo_forward / hyper_forward: float64, own runtime
scaling semantics, hand-written conv). Then refusals: each bad input must give exit 1, one
line on stderr that names the problem, and no output file (nor a temporary one).
When build/hyper exists (or $HYPER_BIN), `hyper generate` on the converted file is compared
with the native reference too.

    /usr/bin/python3 convert/tests/test_pggan_convert.py [-k SUBSTRING]

Last line: "N passed, N failed"; exit status 1 if any failed.
"""
import glob
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import traceback

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
ROOT = _paths.ROOT
import pggan_fake as fk  # noqa: E402
import pggan_ref as ref  # noqa: E402
import wfile  # noqa: E402

torch.set_num_threads(1)
PY = sys.executable
CONVERTER = os.path.join(_paths.CONVERT, "pggan.py")

# Tolerance for canonical float32 (torch) vs native float64: each conv sums <= 9*64 products,
# float32 rounding gives ~1e-6 relative error per layer, and PN after every layer keeps
# activations at unit RMS so errors do not grow; outputs are O(1..5). Observed <= 6e-6; 1e-4
# leaves a 15x margin while a wrong constant, transpose or bias expansion gives errors >= 1e-2.
TOL_REF = 1e-4
# C engine (float32, im2col + sgemm, different summation order) vs native float64: the same
# argument; 2e-4 because sgemm blocking may reorder sums more than torch's conv.
TOL_C = 2e-4

TMP = tempfile.mkdtemp(prefix="pggan_test_")
Z = np.random.default_rng(123).standard_normal((3, 512)).astype(np.float32)
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def run_conv(src, out, fmt=None):
    cmd = [PY, CONVERTER, src, "-o", out] + (["--format", fmt] if fmt else [])
    return subprocess.run(cmd, capture_output=True, text=True)


def convert_ok(src, name, fmt=None):
    out = os.path.join(TMP, name + ".bin")
    p = run_conv(src, out, fmt)
    assert p.returncode == 0, f"converter failed: {p.stderr.strip()}"
    assert os.path.isfile(out)
    return out


def compare(bin_path, native_out, want_channels, want_fmt):
    kind, cfg, _ = wfile.read(bin_path)
    assert kind == "pggan", kind
    assert cfg["channels"] == list(want_channels), (cfg["channels"], want_channels)
    assert cfg["resolution"] == 4 << (len(want_channels) - 1)
    assert cfg["latent_size"] == 512 and cfg["source_format"] == want_fmt, cfg
    m = ref.PgganRef.from_file(bin_path)
    rec = {}
    out = m.forward(torch.from_numpy(Z), rec).numpy()
    assert list(rec) == ref.stage_names(cfg["resolution"]), list(rec)
    nat = native_out.numpy()
    assert out.shape == nat.shape == (len(Z), 3, cfg["resolution"], cfg["resolution"]), (out.shape, nat.shape)
    d = float(np.abs(out - nat).max())
    assert np.abs(nat).max() > 0.5, "degenerate output"
    assert d <= TOL_REF, f"max |canonical - native| = {d:.3g} > {TOL_REF}"
    return d


def refuse(src, expect, fmt=None):
    """The converter must exit 1 with one stderr line containing `expect` and write nothing."""
    outdir = tempfile.mkdtemp(dir=TMP)
    out = os.path.join(outdir, "out.bin")
    p = run_conv(src, out, fmt)
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.returncode == 1, f"exit {p.returncode}, stderr {p.stderr!r}"
    assert len(lines) == 1, f"expected one error line, got {lines}"
    assert expect.lower() in lines[0].lower(), f"{expect!r} not in {lines[0]!r}"
    assert os.listdir(outdir) == [], f"left files {os.listdir(outdir)}"
    return lines[0]


# --- the folded constants against the spec's table (pggan.md sections 3 and 4) ----------

@test
def constants_match_spec_table():
    import math
    import pggan
    one = lambda *shape: np.broadcast_to(1.0, shape)  # noqa: E731  (no memory for 1024-sized shapes)
    # canonical shapes of the 1024 model (C(64)=256, C(1024)=16)
    t = {"dense.weight": one(8192, 512), "dense.bias": one(8192),
         "4x4.conv.weight": one(512, 512, 3, 3), "4x4.conv.bias": one(512),
         "64x64.conv1.weight": one(256, 256, 3, 3), "64x64.conv1.bias": one(256),
         "1024x1024.conv1.weight": one(16, 16, 3, 3), "1024x1024.conv1.bias": one(16),
         "torgb.weight": one(3, 16, 1, 1), "torgb.bias": one(3)}
    k = pggan.fold_constants("karras", t)
    want = {"dense": 1 / 64, "4x4.conv": 1 / 48, "64x64.conv1": math.sqrt(2) / 48,
            "1024x1024.conv1": math.sqrt(2) / 12, "torgb": 0.25}
    for layer, c in want.items():
        assert abs(float(k[layer + ".weight"].flat[0]) - c) < 1e-12, (layer, float(k[layer + ".weight"].flat[0]), c)
        assert float(k[layer + ".bias"].flat[0]) == 1.0, f"karras bias of {layer} must stay unscaled"
    zt = {"dense.weight": one(8192, 512), "dense.bias": one(8192),
          "torgb.weight": one(3, 64, 1, 1), "torgb.bias": one(3)}
    z = pggan.fold_constants("zoo", zt)
    assert abs(float(z["dense.weight"].flat[0]) - 1 / 16) < 1e-12 and abs(float(z["dense.bias"].flat[0]) - 1 / 16) < 1e-12
    assert abs(float(z["torgb.weight"].flat[0]) - 0.176777) < 1e-6 and abs(float(z["torgb.bias"].flat[0]) - 0.176777) < 1e-6
    h = pggan.fold_constants("hyper", zt)
    assert float(h["dense.weight"].flat[0]) == 1.0 and float(h["torgb.bias"].flat[0]) == 1.0
    return "karras 1/64, 1/48, sqrt2/48, sqrt2/12, 0.25; zoo 1/16, 0.176777 (weight and bias); hyper 1"


# --- format A: Karras ----------------------------------------------------------------

def karras_small(name, resolution=32, **kw):
    src = os.path.join(TMP, name + ".pkl")
    v = fk.write_karras_pkl(src, resolution, fmap_base=kw.pop("fmap_base", 256), fmap_max=kw.pop("fmap_max", 64), **kw)
    return src, v


@test
def karras_32_matches_native():
    # G (tuple[0]) has other weights than Gs (tuple[2]): converting G would fail this test.
    src, v = karras_small("k32")
    out = convert_ok(src, "k32")
    return compare(out, ref.karras_forward(v, 32, Z), [64, 64, 32, 16], "karras")


@test
def karras_protocol2_and_label_size_present():
    src, v = karras_small("k16p2", 16, protocol=2, kwargs_update={"label_size": 0}, seed=5)
    out = convert_ok(src, "k16p2")
    return compare(out, ref.karras_forward(v, 16, Z), [64, 64, 32], "karras")


@test
def karras_8_fmap_decay():
    src, v = karras_small("k8", 8, fmap_base=128, fmap_max=128, seed=7)
    out = convert_ok(src, "k8", "karras")
    return compare(out, ref.karras_forward(v, 8, Z), [64, 32], "karras")


@test
def karras_refuse_fused_scale():
    src, _ = karras_small("kfs", 16, kwargs_update={"fused_scale": True})
    return refuse(src, "fused_scale=True")


@test
def karras_refuse_fused_scale_absent():
    src, _ = karras_small("kfsa", 16, kwargs_drop=("fused_scale",))
    return refuse(src, "fused_scale")


@test
def karras_refuse_conv0_up():
    def edit(vs):
        return [((n.replace("16x16/Conv0", "16x16/Conv0_up")), a) for n, a in vs]
    src, _ = karras_small("kup", 16, variables_edit=edit)
    return refuse(src, "Conv0_up")


@test
def karras_refuse_lod():
    src, _ = karras_small("klod", 16, variables_edit=lambda vs: [(n, np.float32(1.0) if n == "lod" else a) for n, a in vs])
    return refuse(src, "lod is [1.0]")


@test
def karras_refuse_missing_variable():
    src, _ = karras_small("kmiss", 16, variables_edit=lambda vs: [(n, a) for n, a in vs if n != "8x8/Conv1/weight"])
    return refuse(src, "'8x8/Conv1/weight' is missing")


@test
def karras_refuse_wrong_shape():
    src, _ = karras_small("kshape", 16, variables_edit=lambda vs: [(n, a[:-1] if n == "16x16/Conv1/bias" else a) for n, a in vs])
    return refuse(src, "16x16/Conv1/bias: shape (31,), expected (32,)")


@test
def karras_refuse_nan():
    def edit(vs):
        out = []
        for n, a in vs:
            if n == "8x8/Conv0/weight":
                a = a.copy(); a[0, 0, 0, 0] = np.nan
            out.append((n, a))
        return out
    src, _ = karras_small("knan", 16, variables_edit=edit)
    return refuse(src, "NaN")


@test
def karras_refuse_num_channels_absent():
    src, _ = karras_small("knc", 16, kwargs_drop=("num_channels",))
    return refuse(src, "num_channels=1")


@test
def karras_refuse_truncated():
    src, _ = karras_small("ktrunc", 16)
    with open(src, "rb") as f:
        data = f.read()
    with open(src, "wb") as f:
        f.write(data[: len(data) // 2])
    return refuse(src, "truncated or corrupt")


@test
def karras_refuse_foreign_class_without_running_it():
    marker = os.path.join(TMP, "pwned")

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    src = os.path.join(TMP, "evil.pkl")
    with fk._TfutilModule() as Network:
        with open(src, "wb") as f:
            pickle.dump((Network({}), Network({}), Network({"version": 2, "x": Evil()})), f, protocol=4)
    msg = refuse(src, "refused")
    assert not os.path.exists(marker), "the pickle's payload ran"
    assert "system" in msg, msg
    return msg


@test
def karras_refuse_theano_pickle():
    src = os.path.join(TMP, "theano.pkl")
    with open(src, "wb") as f:
        f.write(b"\x80\x02cnetwork\nNetwork\nq\x00)\x81q\x01.")
    return refuse(src, "Theano")


# --- format B: GAN zoo ----------------------------------------------------------------

@test
def zoo_avgG_module_keys():
    src = os.path.join(TMP, "zoo.pth")
    st = fk.write_zoo_pth(src, [64, 64, 32], seed=1)
    out = convert_ok(src, "zoo")
    return compare(out, ref.zoo_forward(st, Z), [64, 64, 32], "zoo")


@test
def zoo_netG_only_without_module():
    src = os.path.join(TMP, "zoo_old.pth")
    st = fk.write_zoo_pth(src, [32, 32, 32, 16], seed=2, with_avg=False, module=False)
    out = convert_ok(src, "zoo_old", "zoo")
    return compare(out, ref.zoo_forward(st, Z), [32, 32, 32, 16], "zoo")


@test
def zoo_legacy_torch_format():
    # torch.save(..., _use_new_zipfile_serialization=False): the pre-1.6 non-zip format
    import torch.serialization as ser
    src = os.path.join(TMP, "zoo_legacy.pth")
    orig = torch.save
    torch.save = lambda obj, f: orig(obj, f, _use_new_zipfile_serialization=False)
    try:
        st = fk.write_zoo_pth(src, [32, 32, 16], seed=4)
    finally:
        torch.save = orig
    with open(src, "rb") as f:
        assert f.read(2) == b"\x80\x02" and not ser._is_zipfile(open(src, "rb"))
    out = convert_ok(src, "zoo_legacy")
    return compare(out, ref.zoo_forward(st, Z), [32, 32, 16], "zoo")


@test
def zoo_refuse_foreign_class():
    marker = os.path.join(TMP, "pwned_zoo")

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    src = os.path.join(TMP, "zevil.pth")
    torch.save({"config": None, "avgG": {"x": Evil()}}, src)
    msg = refuse(src, "refused")
    assert not os.path.exists(marker), "the pickle's payload ran"
    return msg


@test
def zoo_uses_avgG_not_netG():
    src = os.path.join(TMP, "zoo2.pth")
    fk.write_zoo_pth(src, [32, 32], seed=3)
    out = convert_ok(src, "zoo2")
    net = fk.zoo_state([32, 32], seed=3 + 1000)  # what netG holds
    m = ref.PgganRef.from_file(out)
    d = float(np.abs(m.forward(torch.from_numpy(Z)).numpy() - ref.zoo_forward(net, Z).numpy()).max())
    assert d > 0.1, f"output equals netG's (diff {d})"
    return d


@test
def zoo_refuse_alpha():
    src = os.path.join(TMP, "zalpha.pth")
    fk.write_zoo_pth(src, [32, 32], alpha=0.5)
    return refuse(src, "alpha=0.5")


@test
def zoo_refuse_tanh_loss():
    src = os.path.join(TMP, "zmse.pth")
    fk.write_zoo_pth(src, [32, 32], loss="MSE")
    return refuse(src, "tanh")


@test
def zoo_refuse_missing_key():
    src = os.path.join(TMP, "zmiss.pth")
    fk.write_zoo_pth(src, [32, 32, 16], state_edit=lambda s: {k: v for k, v in s.items() if k != "scaleLayers.1.1.module.bias"})
    return refuse(src, "'scaleLayers.1.1.module.bias' is missing")


@test
def zoo_refuse_wrong_shape():
    src = os.path.join(TMP, "zshape.pth")
    fk.write_zoo_pth(src, [32, 32, 16], state_edit=lambda s: {k: (v[:, :8] if k == "toRGBLayers.2.module.weight" else v) for k, v in s.items()})
    return refuse(src, "toRGBLayers.2.module.weight: shape (3, 8, 1, 1), expected (3, 16, 1, 1)")


@test
def zoo_refuse_truncated():
    src = os.path.join(TMP, "ztrunc.pth")
    fk.write_zoo_pth(src, [32, 32])
    with open(src, "rb") as f:
        data = f.read()
    with open(src, "wb") as f:
        f.write(data[: len(data) * 2 // 3])
    return refuse(src, "not a readable torch checkpoint")


# --- format C: HYPER MXNet --------------------------------------------------------------

@test
def hyper_structural_names_shuffled():
    src = os.path.join(TMP, "h_struct.params")
    rng = np.random.default_rng(0)
    p = fk.write_hyper_params(src, [64, 64, 32, 16], seed=4, order=lambda ks: [ks[i] for i in rng.permutation(len(ks))])
    out = convert_ok(src, "h_struct")
    return compare(out, ref.hyper_forward(p, Z), [64, 64, 32, 16], "hyper")


@test
def hyper_prefixed_names():
    src = os.path.join(TMP, "h_pref.params")
    p = fk.write_hyper_params(src, [32, 32, 16], seed=5, style="prefixed")
    out = convert_ok(src, "h_pref")
    return compare(out, ref.hyper_forward(p, Z), [32, 32, 16], "hyper")


@test
def hyper_module_api_names_v3_records():
    src = os.path.join(TMP, "h_arg.params")
    p = fk.write_hyper_params(src, [32, 32, 16], seed=6, style="arg", version=3)
    out = convert_ok(src, "h_arg", "hyper")
    return compare(out, ref.hyper_forward(p, Z), [32, 32, 16], "hyper")


@test
def hyper_v1_records():
    src = os.path.join(TMP, "h_v1.params")
    p = fk.write_hyper_params(src, [32, 32], seed=8, version=1)
    out = convert_ok(src, "h_v1")
    return compare(out, ref.hyper_forward(p, Z), [32, 32], "hyper")


@test
def hyper_legacy_records():
    # pre-V1 MXNet: no magic, u32 ndim + u32 dims, then context, dtype, data
    src = os.path.join(TMP, "h_legacy.params")
    p = fk.hyper_params([32, 32], seed=9)
    names = fk.hyper_names(p)
    import struct
    buf = bytearray(struct.pack("<QQQ", 0x112, 0, len(p)))
    for a in p.values():
        buf += struct.pack("<I", a.ndim) + struct.pack("<%dI" % a.ndim, *a.shape) + struct.pack("<iii", 1, 0, 0)
        buf += np.ascontiguousarray(a, "<f4").tobytes()
    buf += struct.pack("<Q", len(p))
    for k in p:
        buf += struct.pack("<Q", len(names[k])) + names[k].encode()
    open(src, "wb").write(bytes(buf))
    out = convert_ok(src, "h_legacy")
    return compare(out, ref.hyper_forward(p, Z), [32, 32], "hyper")


@test
def hyper_refuse_truncated():
    src = os.path.join(TMP, "h_trunc.params")
    fk.write_hyper_params(src, [32, 32])
    with open(src, "rb") as f:
        data = f.read()
    with open(src, "wb") as f:
        f.write(data[:-1000])
    return refuse(src, "truncated MXNet params")


@test
def hyper_refuse_missing_layer():
    src = os.path.join(TMP, "h_miss.params")
    p = fk.hyper_params([32, 32, 16])
    names = fk.hyper_names(p)
    fk.write_mx_ndarray_list(src, [(names[k], v) for k, v in p.items() if k != "block1.conv1.bias"])
    return refuse(src, "block 9 layer 3 has parameters ['weight']")


@test
def hyper_refuse_wrong_shape():
    src = os.path.join(TMP, "h_shape.params")
    p = fk.hyper_params([32, 32, 16])
    p["block1.conv1.weight"] = p["block1.conv1.weight"][:, :, :1, :1]
    names = fk.hyper_names(p)
    fk.write_mx_ndarray_list(src, [(names[k], v) for k, v in p.items()])
    return refuse(src, "block 1 conv1 weight: shape (16, 16, 1, 1), expected (16, 16, 3, 3)")


@test
def hyper_refuse_float64_record():
    src = os.path.join(TMP, "h_f64.params")
    fk.write_hyper_params(src, [32, 32])
    data = bytearray(open(src, "rb").read())
    # first record: magic(4) stype(4) ndim(4) dims(16) ctx(8) -> dtype at 24+4+4+4+16+8
    off = 24 + 4 + 4 + 4 + 16 + 8
    data[off:off + 4] = (1).to_bytes(4, "little")
    open(src, "wb").write(bytes(data))
    return refuse(src, "dtype code 1")


# --- detection -----------------------------------------------------------------------

@test
def refuse_unknown_format():
    src = os.path.join(TMP, "notes.txt")
    with open(src, "w") as f:
        f.write("hello, this is not a checkpoint\n" * 10)
    return refuse(src, "unrecognised content")


@test
def refuse_missing_file():
    return refuse(os.path.join(TMP, "does_not_exist.pkl"), "no such file")


@test
def refuse_forced_wrong_format():
    src = os.path.join(TMP, "h_forced.params")
    fk.write_hyper_params(src, [32, 32])
    return refuse(src, "not a readable pickle", "karras")


# --- the C engine --------------------------------------------------------------------

def hyper_bin():
    b = os.environ.get("HYPER_BIN") or os.path.join(ROOT, "build", "hyper")
    return b if os.path.isfile(b) and os.access(b, os.X_OK) else None


def c_generate(fmt, src, native, res):
    exe = hyper_bin()
    if exe is None:
        return "SKIP: build/hyper not built (make) and $HYPER_BIN not set"
    out = convert_ok(src, "c_" + fmt)
    work = tempfile.mkdtemp(dir=TMP)
    zp, raw, d = os.path.join(work, "z.npy"), os.path.join(work, "raw.npy"), os.path.join(work, "png")
    np.save(zp, Z)
    p = subprocess.run([exe, "generate", "-g", out, "-z", zp, "-o", d, "--npy", raw, "--threads", "1"],
                       capture_output=True, text=True)
    assert p.returncode == 0, f"hyper generate failed: {p.stderr.strip()}"
    got = np.load(raw)
    nat = native.numpy()
    assert got.shape == nat.shape == (len(Z), 3, res, res), (got.shape, nat.shape)
    diff = float(np.abs(got - nat).max())
    assert diff <= TOL_C, f"max |C - native| = {diff:.3g} > {TOL_C}"
    pngs = sorted(glob.glob(os.path.join(d, "*.png")))
    assert len(pngs) == len(Z), pngs
    return diff


@test
def c_generate_karras_matches_native():
    src, v = karras_small("kc", 32, seed=11)
    return c_generate("karras", src, ref.karras_forward(v, 32, Z), 32)


@test
def c_generate_zoo_matches_native():
    src = os.path.join(TMP, "zc.pth")
    st = fk.write_zoo_pth(src, [64, 32, 32, 16], seed=12)
    return c_generate("zoo", src, ref.zoo_forward(st, Z), 32)


@test
def c_generate_hyper_matches_native():
    src = os.path.join(TMP, "hc.params")
    p = fk.write_hyper_params(src, [32, 32, 32, 16], seed=13, style="prefixed")
    return c_generate("hyper", src, ref.hyper_forward(p, Z), 32)


def main():
    sel = sys.argv[sys.argv.index("-k") + 1] if "-k" in sys.argv else ""
    passed = failed = 0
    for fn in TESTS:
        if sel not in fn.__name__:
            continue
        try:
            info = fn()
            if isinstance(info, str) and info.startswith("SKIP"):
                print(f"SKIP {fn.__name__}: {info[5:].strip()}")
                continue
            detail = f"max diff {info:.2e}" if isinstance(info, float) else (info or "")
            print(f"PASS {fn.__name__}  {detail}")
            passed += 1
        except Exception as e:
            print(f"FAIL {fn.__name__}: {type(e).__name__}: {e}")
            if os.environ.get("VERBOSE"):
                traceback.print_exc()
            failed += 1
    shutil.rmtree(TMP, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
