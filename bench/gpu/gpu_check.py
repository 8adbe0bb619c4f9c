"""GPU check of the model path, run on the lent H100 (no JDK there, and DJL 0.36 needs libtorch 2.7.1 exactly while
the machine has torch 2.11): the same TorchScript bundle the Java server loads, driven from Python.

Measures, in one run on one device:
  1. vision encoder throughput (images/s) per batch size, fp32 (TF32 off and on);
  2. batched == one-by-one on the GPU (max |diff| of g, taps and of the full per-query scores);
  3. served per-query cost (encoder batch + residual NN against cached K-shot tokens + heads, text prior cached)
     vs the official test loop at batch 1 (re-encode 1+K images and all 242 sentences per query) -> ratio;
  4. reduced precision (--precisions bf16 fp16): the vision and text towers in that dtype, fp32 in and out (casts
     around the module, taps re-normalised in fp32, as the bundle's bf16 variant does; the bundle's own
     vision.bf16.pt/text.bf16.pt when it lists them), heads fp32: encoder img/s per batch, served queries/s, and
     max |Δ| vs fp32 of g, the taps and the final score on the same inputs, plus batched vs one-by-one.
Usage: python gpu_check.py BUNDLE_DIR [--k 8] [--precisions bf16 fp16] [--out results.json]
"""
import argparse
import json
import time

import torch


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, seconds=2.0, min_iters=3):
    sync()
    n, t0 = 0, time.perf_counter()
    while n < min_iters or time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    sync()
    return (time.perf_counter() - t0) / n


def reduced(bundle, manifest, name, dtype, dev):
    """Vision and text towers in `dtype`, fp32 in and out: the bundle's variant files when listed, else cast here."""
    files = ((manifest.get("variants") or {}).get(name) or {}).get("files") or {}
    if "vision" in files and "text" in files:
        load = lambda f: torch.jit.load(f"{bundle}/{f}", map_location=dev).eval()  # noqa: E731
        return load(files["vision"]), load(files["text"])
    v = torch.jit.load(f"{bundle}/vision.pt", map_location=dev).eval().to(dtype)
    t = torch.jit.load(f"{bundle}/text.pt", map_location=dev).eval().to(dtype)

    def vision(x):
        o = v(x.to(dtype))
        return (o[0].float(),) + tuple(torch.nn.functional.normalize(z.float(), dim=-1) for z in o[1:])

    return vision, lambda ids: t(ids).float()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--out", default=None)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64, 128])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--precisions", nargs="*", default=["bf16", "fp16"], choices=["bf16", "fp16"])
    a = ap.parse_args()
    dev = a.device

    def load(n):
        return torch.jit.load(f"{a.bundle}/{n}.pt", map_location=dev).eval()

    vision, text, adapter, eta, phi = (load(n) for n in ("vision", "text", "adapter", "image_head", "holistic_head"))
    man = json.load(open(f"{a.bundle}/manifest.json"))
    S = man["image"]["size"]
    res = {"device": torch.cuda.get_device_name(0) if dev == "cuda" else dev, "torch": torch.__version__,
           "bundle": man["bundle_id"], "k": a.k}
    print(res, flush=True)
    g0 = torch.Generator(device=dev).manual_seed(0)

    with torch.inference_mode():
        # 1. encoder throughput per batch size
        for tf32 in (False, True):
            torch.backends.cuda.matmul.allow_tf32 = tf32
            torch.backends.cudnn.allow_tf32 = tf32
            tput = {}
            for b in a.batches:
                x = torch.randn(b, 3, S, S, device=dev, generator=g0)
                for _ in range(3):
                    vision(x)
                dt = timed(lambda x=x: vision(x), a.seconds)
                tput[b] = round(b / dt, 1)
                print(f"encoder tf32={tf32} batch {b}: {b / dt:.1f} img/s", flush=True)
            res[f"encoder_img_per_s_tf32_{tf32}"] = tput
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

        # 2. batched vs one-by-one (fp32)
        x = torch.randn(16, 3, S, S, device=dev, generator=g0)
        ob = vision(x)
        os_ = [vision(x[i:i + 1]) for i in range(16)]
        diff = max(float((ob[j][i] - os_[i][j][0]).abs().max()) for i in range(16) for j in range(4))
        res["batched_vs_single_max_abs_diff_vision"] = diff
        print("batched vs single vision max |diff|:", diff, flush=True)

        # shared pieces: K shots, cached prompt tokens + prototype, a text prior from random token ids
        shots = torch.randn(a.k, 3, S, S, device=dev, generator=g0)
        so = vision(shots)
        tokens = [so[i + 1].reshape(-1, so[i + 1].shape[-1]).T.contiguous() for i in range(3)]
        proto = adapter(so[0]).mean(0, keepdim=True)
        ids = torch.randint(1, 49000, (242, 77), device=dev, generator=g0)
        ids[:, 0] = 49406
        ids[:, 20] = 49407
        ids[:, 21:] = 0
        emb = text(ids)
        emb = emb / emb.norm(dim=-1, keepdim=True)
        tn, ta = emb[:154].mean(0), emb[154:].mean(0)
        tn, ta = tn / tn.norm(), ta / ta.norm()

        def score_batch(out):
            g, taps = out[0], out[1:]
            b = g.shape[0]
            m = sum((1 - (t.reshape(-1, t.shape[-1]) @ tok).amax(1)) / 2
                    for t, tok in zip(taps, tokens, strict=True)) / 3
            m = m.reshape(b, -1)
            s_i = eta(proto - adapter(g))
            gn = g / g.norm(dim=-1, keepdim=True)
            s_a = torch.sigmoid(100 * (gn @ ta - gn @ tn))
            s_h = phi(m + s_i[:, None] + s_a[:, None])
            return (s_h + m.amax(1)) / 2

        sb = score_batch(vision(x))
        ss = torch.cat([score_batch(vision(x[i:i + 1])) for i in range(16)])
        res["batched_vs_single_max_abs_diff_score"] = float((sb - ss).abs().max())
        print("batched vs single score max |diff|:", res["batched_vs_single_max_abs_diff_score"], flush=True)

        # 3. served (cached prompts/text, batched) vs official loop (batch 1, re-encode everything)
        served = {}
        for b in (1, 8, 32, 64):
            xb = torch.randn(b, 3, S, S, device=dev, generator=g0)
            served[b] = round(b / timed(lambda xb=xb: score_batch(vision(xb)), a.seconds), 1)
            print(f"served path batch {b}: {served[b]} queries/s", flush=True)
        res["served_queries_per_s"] = served
        q1 = torch.randn(1, 3, S, S, device=dev, generator=g0)

        def official():
            vision(q1)
            vision(shots)            # the K prompts, re-encoded per query
            text(ids)                # all 242 sentences, re-encoded per query
            score_batch(vision(q1))
        off = 1 / timed(official, seconds=a.seconds)
        res["official_loop_queries_per_s"] = round(off, 2)
        best = max(served.values())
        res["ratio_served_best_vs_official"] = round(best / off, 1)
        res["ratio_served_batch1_vs_official"] = round(served[1] / off, 1)
        print(f"official loop: {off:.2f} queries/s; served/official = {best / off:.1f}x "
              f"(batch 1: {served[1] / off:.1f}x)",
              flush=True)

        # 4. reduced precision: same inputs, fp32 in and out, heads fp32
        ref_scores = score_batch(vision(x))
        ref_feats = vision(x)
        for name in a.precisions:
            dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[name]
            lp_vision, lp_text = reduced(a.bundle, man, name, dtype, dev)
            row = {}
            tput = {}
            for b in a.batches:
                xb = torch.randn(b, 3, S, S, device=dev, generator=g0)
                for _ in range(3):
                    lp_vision(xb)
                tput[b] = round(b / timed(lambda m=lp_vision, x=xb: m(x), a.seconds), 1)
                print(f"encoder {name} batch {b}: {tput[b]} img/s", flush=True)
            row["encoder_img_per_s"] = tput
            feats = lp_vision(x)
            row["max_abs_diff_g_rel"] = float((feats[0] - ref_feats[0]).norm() / ref_feats[0].norm())
            row["max_abs_diff_taps"] = max(float((feats[j] - ref_feats[j]).abs().max()) for j in (1, 2, 3))
            lp_emb = lp_text(ids)
            lp_emb = lp_emb / lp_emb.norm(dim=-1, keepdim=True)
            row["max_abs_diff_text_embedding"] = float((lp_emb - emb).abs().max())
            row["max_abs_diff_score"] = float((score_batch(feats) - ref_scores).abs().max())
            single = torch.cat([score_batch(lp_vision(x[i:i + 1])) for i in range(16)])
            row["batched_vs_single_max_abs_diff_score"] = float((score_batch(feats) - single).abs().max())
            served_lp = {}
            for b in (1, 8, 32, 64):
                xb = torch.randn(b, 3, S, S, device=dev, generator=g0)
                served_lp[b] = round(b / timed(lambda m=lp_vision, x=xb: score_batch(m(x)), a.seconds), 1)
            row["served_queries_per_s"] = served_lp
            row["served_best_vs_fp32"] = round(max(served_lp.values()) / best, 2)
            res[f"precision_{name}"] = row
            print(f"{name}: {row}", flush=True)
    if a.out:
        json.dump(res, open(a.out, "w"), indent=2)


if __name__ == "__main__":
    main()
