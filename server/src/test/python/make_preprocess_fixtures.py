#!/usr/bin/env python3
"""Generate bit-exact preprocessing fixtures for the Java image package (io.inctrl.serve.image).

Usage:  /tmp/pyt/venv/bin/python server/src/test/python/make_preprocess_fixtures.py <assets-dir> [--data <shared/data>]

Writes <assets-dir>/preprocess/: one input image per case, <case>.crop.bin (uint8 RGB HWC, size*size*3),
<case>.tensor.bin (float32 little-endian CHW) and index.json. The expectation is the official InCTRL / OpenCLIP
eval transform: torchvision Resize(240, BICUBIC) on a PIL image, CenterCrop(240), convert('RGB'), ToTensor,
Normalize(CLIP mean/std). Needs pillow 13.0.0, torch 2.7.1, torchvision 0.22.1.
"""
import argparse
import glob
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

# The spec's transform as every Python tool computes it (tools/export/inctrl_export/spec.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "tools", "export"))
from inctrl_export import spec

SIZE = 240
MEAN, STD = spec.CLIP_MEAN, spec.CLIP_STD

# The pipeline under test (spec §3): resize+crop happen in the image's own mode, RGB conversion after the crop.
GEOM = spec.geometry(SIZE)
TENSOR = spec.to_tensor(MEAN, STD)


def legacy_geom(img):
    """Pillow <= 12 ran the horizontal pass first, always. Pillow 13 may go vertical first (PR #9549); emulate the
    old order with two single-axis resizes (each does exactly one pass). Valid for modes without alpha only."""
    assert img.mode not in ("LA", "RGBA"), "two-step emulation would premultiply twice"
    w, h = img.size
    short, long = min(w, h), max(w, h)
    new_long = int(SIZE * long / short)
    nw, nh = (SIZE, new_long) if w <= h else (new_long, SIZE)
    if nw != w:
        img = img.resize((nw, h), Image.BICUBIC)
    if nh != h:
        img = img.resize((nw, nh), Image.BICUBIC)
    return T.CenterCrop(SIZE)(img)


def expected(img, legacy=False):
    rgb = (legacy_geom(img) if legacy else GEOM(img)).convert("RGB")
    crop = np.asarray(rgb, dtype=np.uint8)
    assert crop.shape == (SIZE, SIZE, 3), crop.shape
    tensor = TENSOR(rgb)
    assert tensor.dtype == torch.float32 and tuple(tensor.shape) == (3, SIZE, SIZE)
    return crop, tensor.numpy()


def i16_to_l(img):
    """Our documented conversion for 16-bit grayscale: round(v / 257) to 8 bits, then mode L."""
    a = np.asarray(img, dtype=np.uint32)
    return Image.fromarray(((a + 128) // 257).astype(np.uint8), "L")


# --- raw PNG writer: Pillow cannot write interlaced, 2/4-bit gray, 16-bit RGB or RGB+tRNS PNGs -------------
def _chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _pack_rows(arr, bit_depth):
    """arr: HxWxC uint8/uint16 -> list of raw scanline bytes (no filter byte)."""
    h = arr.shape[0]
    if bit_depth == 16:
        return [arr[y].astype(">u2").tobytes() for y in range(h)]
    if bit_depth == 8:
        return [arr[y].astype(np.uint8).tobytes() for y in range(h)]
    rows = []
    for y in range(h):
        vals = arr[y].reshape(-1).astype(np.uint8)
        rows.append(np.packbits(np.unpackbits(vals[:, None], axis=1)[:, 8 - bit_depth:].reshape(-1)).tobytes())
    return rows


def write_png(path, arr, bit_depth, color_type, interlace=False, extra=b""):
    if arr.ndim == 2:
        arr = arr[:, :, None]
    h, w = arr.shape[:2]
    raw = bytearray()
    if not interlace:
        for row in _pack_rows(arr, bit_depth):
            raw += b"\x00" + row
    else:  # Adam7
        adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        for (x0, y0, dx, dy) in adam7:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue
            for row in _pack_rows(sub, bit_depth):
                raw += b"\x00" + row
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    data = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + _chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)


# --- synthetic content -------------------------------------------------------------------------------------
def smooth_rgb(rng, w, h):
    """Textured but natural-ish content: gradients + noise + sharp edges (exercises clipping/ringing)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 127 + 120 * np.sin(xx / max(w, 1) * 7.0 + yy / max(h, 1) * 3.0)
    g = 255 * (xx / max(w - 1, 1))
    b = np.where(((xx // 9) + (yy // 7)) % 2 == 0, 250.0, 5.0)
    a = np.stack([r, g, b], -1) + rng.normal(0, 18, (h, w, 3))
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("assets_dir")
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../../../../shared/data"))
    ap.add_argument("--fuzz", type=int, default=0, help="also add N random-size/random-mode PNG cases")
    args = ap.parse_args()
    out = os.path.join(args.assets_dir, "preprocess")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261127)
    cases = []

    def add(name, path, load=None, tol=0, note="", pil_mode=None, legacy=False):
        img = Image.open(path)
        mode = pil_mode or img.mode
        img.load()
        src = load(img) if load else img
        crop, tensor = expected(src, legacy)
        crop.tofile(os.path.join(out, name + ".crop.bin"))
        tensor.astype("<f4").tofile(os.path.join(out, name + ".tensor.bin"))
        entry = {"name": name, "file": os.path.basename(path), "pil_mode": mode, "width": img.size[0],
                 "height": img.size[1], "crop": name + ".crop.bin", "tensor": name + ".tensor.bin",
                 "max_abs_u8": tol, "note": note, "pass_order": "HORIZONTAL_FIRST" if legacy else "PILLOW_13"}
        if img.format == "JPEG":  # PIL/libjpeg-turbo decoded pixels, to measure the decoder difference separately
            dec = name + ".pil-decoded.png"
            img.save(os.path.join(out, dec))
            entry["pil_decoded"] = dec
        cases.append(entry)

    # 1) real shots
    data = os.path.abspath(args.data)
    shots = sorted(glob.glob(os.path.join(data, "*", "*", "shots", "*")))
    if not shots:
        sys.exit(f"no shot images under {data}")
    for p in shots:
        rel = os.path.relpath(p, data).replace(os.sep, "_").replace("_shots_", "_")
        name = "shot_" + os.path.splitext(rel)[0]
        dst = os.path.join(out, name + os.path.splitext(p)[1])
        with open(p, "rb") as f, open(dst, "wb") as g:
            g.write(f.read())
        add(name, dst, note="real image from shared/data")

    def save(name, img, ext, **kw):
        p = os.path.join(out, name + "." + ext)
        img.save(p, **kw)
        return p

    # 2) geometry edge cases (RGB)
    for name, (w, h), note in [
        ("rgb_500x512_half_offset", (500, 512), "long side 245, crop offset 2.5 -> 2 (half-to-even)"),
        ("rgb_512x500_half_offset", (512, 500), "transposed half offset"),
        ("rgb_333x257_odd", (333, 257), "odd sizes, downscale"),
        ("rgb_240x240_exact", (240, 240), "no resize at all"),
        ("rgb_240x301", (240, 301), "short side already 240: vertical size unchanged -> only crop"),
        ("rgb_17x23_tiny", (17, 23), "upscale x14"),
        ("rgb_1x1", (1, 1), "single pixel"),
        ("rgb_3x2", (3, 2), "tiny, wide"),
        ("rgb_1000x60_wide", (1000, 60), "very wide: 4000x240 intermediate"),
        ("rgb_50x900_tall", (50, 900), "very tall"),
        ("rgb_2000x1500_big", (2000, 1500), "large downscale (support x6.25)"),
    ]:
        add(name, save(name, Image.fromarray(smooth_rgb(rng, w, h), "RGB"), "png"), note=note)

    # 2b) Pillow 13 runs the vertical pass first when inH - outH > 2 * (inW - outW) (tall, mild width reduction)
    for name, (w, h), mode in [("vfirst_rgb_264x693", (264, 693), "RGB"), ("vfirst_l_246x688", (246, 688), "L"),
                               ("vfirst_rgba_280x589", (280, 589), "RGBA"), ("vfirst_la_300x900", (300, 900), "LA"),
                               ("vfirst_rgb_240x900_vonly", (240, 900), "RGB")]:
        im = Image.fromarray(smooth_rgb(rng, w, h), "RGB").convert(mode)
        if mode in ("RGBA", "LA"):
            im.putalpha(Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), "L"))
        add(name, save(name, im, "png"), note="Pillow 13 vertical-first pass order")
    # ... and the same kind of inputs with the Pillow <= 12 order (ImagePreprocessor PassOrder.HORIZONTAL_FIRST)
    for name, (w, h), mode in [("legacy_rgb_264x693", (264, 693), "RGB"), ("legacy_l_246x688", (246, 688), "L"),
                               ("legacy_rgb_500x333", (500, 333), "RGB"), ("legacy_p_260x700", (260, 700), "P")]:
        im = Image.fromarray(smooth_rgb(rng, w, h), "RGB")
        im = im.quantize(100) if mode == "P" else im.convert(mode)
        add(name, save(name, im, "png"), legacy=True, note="Pillow <= 12 pass order (horizontal first)")

    # 3) modes
    g = smooth_rgb(rng, 333, 257)[:, :, 0]
    add("l_333x257", save("l_333x257", Image.fromarray(g, "L"), "png"), note="8-bit gray: resized single-channel")
    la = np.stack([smooth_rgb(rng, 300, 260)[:, :, 0], rng.integers(0, 256, (260, 300), dtype=np.uint8)], -1)
    la[:40] = np.stack([la[:40, :, 0], np.zeros_like(la[:40, :, 0])], -1)  # fully transparent band
    add("la_300x260", save("la_300x260", Image.fromarray(la, "LA"), "png"), note="premultiplied resize")
    rgba = np.concatenate([smooth_rgb(rng, 320, 250), np.zeros((250, 320, 1), np.uint8)], -1)
    yy, xx = np.mgrid[0:250, 0:320]
    rgba[:, :, 3] = np.clip(xx * 255 // 319, 0, 255)
    rgba[::7, :, 3] = 0
    rgba[:, ::11, 3] = 255
    rgba[100:140, 100:200, 3] = rng.integers(0, 256, (40, 100))
    add("rgba_320x250_alpha", save("rgba_320x250_alpha", Image.fromarray(rgba, "RGBA"), "png"),
        note="alpha gradient, 0, 255 and noise")
    add("rgba_240x240_exact", save("rgba_240x240_exact", Image.fromarray(rgba[:240, :240].copy(), "RGBA"), "png"),
        note="no resize: alpha simply dropped")
    rgba_small = rgba[:30, :45].copy()
    add("rgba_45x30_tiny", save("rgba_45x30_tiny", Image.fromarray(rgba_small, "RGBA"), "png"), note="upscale RGBA")

    base = Image.fromarray(smooth_rgb(rng, 300, 280), "RGB")
    pal = base.quantize(200)
    add("p_300x280", save("p_300x280", pal, "png"), note="palette: nearest-neighbour resize")
    add("p_300x280_trns", save("p_300x280_trns", pal, "png", transparency=3), note="palette with tRNS")
    pal16 = Image.fromarray(smooth_rgb(rng, 250, 333), "RGB").quantize(16)
    add("p4_250x333_bits4", save("p4_250x333_bits4", pal16, "png", bits=4), note="4-bit palette PNG")
    add("p_17x13_tiny", save("p_17x13_tiny", Image.fromarray(smooth_rgb(rng, 17, 13), "RGB").quantize(64), "png"),
        note="palette upscale (nearest)")
    one = Image.fromarray((smooth_rgb(rng, 260, 250)[:, :, 2] > 128).astype(np.uint8) * 255, "L").convert("1")
    add("mode1_260x250", save("mode1_260x250", one, "png"), note="1-bit PNG: PIL mode 1, nearest resize")

    # raw-PNG-writer cases
    p = os.path.join(out, "rgb_301x263_interlaced.png")
    write_png(p, smooth_rgb(rng, 301, 263), 8, 2, interlace=True)
    add("rgb_301x263_interlaced", p, note="Adam7 interlaced RGB")
    p = os.path.join(out, "p_270x250_interlaced.png")
    pi = np.asarray(Image.fromarray(smooth_rgb(rng, 270, 250), "RGB").quantize(100))
    palette = struct.pack("300B", *rng.integers(0, 256, 300).tolist())
    write_png(p, pi, 8, 3, interlace=True, extra=_chunk(b"PLTE", palette))
    add("p_270x250_interlaced", p, note="Adam7 interlaced palette")
    p = os.path.join(out, "l2_250x260.png")
    write_png(p, rng.integers(0, 4, (260, 250)).astype(np.uint8), 2, 0)
    add("l2_250x260", p, note="2-bit gray: PIL scales to 0/85/170/255, mode L")
    p = os.path.join(out, "l4_250x260.png")
    write_png(p, (smooth_rgb(rng, 250, 260)[:, :, 0] >> 4), 4, 0)
    add("l4_250x260", p, note="4-bit gray (x17), mode L")
    p = os.path.join(out, "rgb16_300x250.png")
    rgb16 = smooth_rgb(rng, 300, 250).astype(np.uint16) * 257 + rng.integers(0, 257, (250, 300, 3))
    write_png(p, rgb16.astype(np.uint16), 16, 2)
    add("rgb16_300x250", p, note="16-bit RGB: PIL keeps the high byte")
    p = os.path.join(out, "rgb_trns_260x250.png")
    arr = smooth_rgb(rng, 260, 250)
    arr[50:90, 50:90] = (10, 20, 30)
    write_png(p, arr, 8, 2, extra=_chunk(b"tRNS", struct.pack(">HHH", 10, 20, 30)))
    add("rgb_trns_260x250", p, note="RGB + tRNS colour key: PIL mode RGB (key ignored by convert RGB)")
    p = os.path.join(out, "l_trns_250x260.png")
    write_png(p, smooth_rgb(rng, 250, 260)[:, :, 1], 8, 0, extra=_chunk(b"tRNS", struct.pack(">H", 128)))
    add("l_trns_250x260", p, note="gray + tRNS: PIL mode L")

    # 16-bit gray: official transform crashes; we convert round(v/257) first (ImageDecoder Javadoc)
    g16 = smooth_rgb(rng, 310, 270)[:, :, 0].astype(np.uint32) * 257 + rng.integers(0, 257, (270, 310))
    g16 = g16.astype(np.uint16)
    g16[0, :6] = [0, 128, 129, 385, 65407, 65535]
    p = os.path.join(out, "i16_310x270.png")
    write_png(p, g16, 16, 0)
    add("i16_310x270", p, load=i16_to_l, note="16-bit gray PNG -> round(v/257) -> L")
    p = save("i16_270x310_tiff", Image.fromarray(g16.T.copy()), "tif")
    add("i16_270x310_tiff", p, load=i16_to_l, note="16-bit gray TIFF -> round(v/257) -> L")

    # other containers
    add("bmp24_310x250", save("bmp24_310x250", Image.fromarray(smooth_rgb(rng, 310, 250), "RGB"), "bmp"),
        note="BMP 24-bit")
    add("bmp8_p_300x250",
        save("bmp8_p_300x250", Image.fromarray(smooth_rgb(rng, 300, 250), "RGB").quantize(128), "bmp"),
        note="BMP 8-bit colour palette: mode P")
    add("bmp8_gray_250x300", save("bmp8_gray_250x300", Image.fromarray(smooth_rgb(rng, 250, 300)[:, :, 0], "L"), "bmp"),
        note="BMP 8-bit grey ramp palette: PIL drops the palette -> mode L")
    add("tiff_rgb_280x250", save("tiff_rgb_280x250", Image.fromarray(smooth_rgb(rng, 280, 250), "RGB"), "tif"),
        note="TIFF RGB")
    add("tiff_rgb_lzw_250x280", save("tiff_rgb_lzw_250x280", Image.fromarray(smooth_rgb(rng, 250, 280), "RGB"), "tif",
                                     compression="tiff_lzw"), note="TIFF RGB LZW")
    add("tiff_l_260x250", save("tiff_l_260x250", Image.fromarray(smooth_rgb(rng, 260, 250)[:, :, 1], "L"), "tif"),
        note="TIFF L")

    # JPEG: decoders differ (ImageIO vs libjpeg-turbo); tolerance asserted, diff reported by the test
    jsrc = np.asarray(Image.open(shots[-1]).convert("RGB"))
    add("jpeg_rgb_q90_420", save("jpeg_rgb_q90_420", Image.fromarray(jsrc, "RGB"), "jpg", quality=90), tol=3,
        note="JPEG 4:2:0 (real image)")
    add("jpeg_rgb_q95_444", save("jpeg_rgb_q95_444", Image.fromarray(smooth_rgb(rng, 300, 260), "RGB"), "jpg",
                                 quality=95, subsampling=0), tol=3, note="JPEG 4:4:4")
    add("jpeg_l_q90", save("jpeg_l_q90", Image.fromarray(jsrc[:, :, 1].copy(), "L"), "jpg", quality=90), tol=3,
        note="JPEG grayscale")
    add("jpeg_rgb_progressive", save("jpeg_rgb_progressive", Image.fromarray(jsrc, "RGB"), "jpg", quality=85,
                                     progressive=True), tol=3, note="progressive JPEG")

    hsrc = np.asarray(Image.open(shots[8]).convert("RGB"))  # a headct shot (non-square)
    add("jpeg_rgb_q75_422", save("jpeg_rgb_q75_422", Image.fromarray(hsrc, "RGB"), "jpg", quality=75, subsampling=1),
        tol=3, note="JPEG 4:2:2 (real image)")
    add("jpeg_rgb_q50_odd", save("jpeg_rgb_q50_odd", Image.fromarray(smooth_rgb(rng, 333, 257), "RGB"), "jpg",
                                 quality=50), tol=3, note="JPEG 4:2:0, odd size, strong quantisation")

    # optional fuzz sweep: random sizes (incl. < 240 and extreme aspect) and modes
    for i in range(args.fuzz):
        w, h = (int(v) for v in rng.integers(1, 700, 2))
        if i % 5 == 0:
            w = int(rng.integers(1, 40))
        mode = ["RGB", "L", "LA", "RGBA", "P", "1"][i % 6]
        rgb = Image.fromarray(smooth_rgb(rng, w, h), "RGB")
        if mode == "P":
            im = rgb.quantize(int(rng.integers(2, 257)))
        elif mode in ("LA", "RGBA"):
            im = rgb.convert(mode)
            im.putalpha(Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8), "L"))
        else:
            im = rgb.convert(mode)
        name = f"fuzz_{i:03d}_{mode}_{w}x{h}"
        add(name, save(name, im, "png"), note="fuzz")

    ex = Image.Exif()
    ex[0x0112] = 6  # "rotate 90 CW to display": the official pipeline ignores it, so must we
    add("jpeg_exif_orient6", save("jpeg_exif_orient6", Image.fromarray(smooth_rgb(rng, 320, 250), "RGB"), "jpg",
                                  quality=90, exif=ex), tol=3, note="EXIF orientation 6 ignored (PIL parity)")

    # rejected inputs for the Java decoder (no expectation; reason only)
    cmyk = Image.fromarray(smooth_rgb(rng, 64, 48), "RGB").convert("CMYK")
    cmyk.save(os.path.join(out, "reject_cmyk.jpg"), quality=90)

    index = {"size": SIZE, "mean": MEAN, "std": STD, "generator": os.path.basename(__file__),
             "pillow": Image.__version__ if hasattr(Image, "__version__") else None,
             "torch": torch.__version__, "cases": cases,
             "rejects": [{"file": "reject_cmyk.jpg", "reason": "UNSUPPORTED_FORMAT"}]}
    import PIL
    import torchvision
    index["pillow"] = PIL.__version__
    index["torchvision"] = torchvision.__version__
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
