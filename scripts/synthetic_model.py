#!/usr/bin/env python3
"""Writes a Hugging Face model directory with random weights at the shape a config.json gives, for benchmarks.

    scripts/synthetic_model.py bench/configs/qwen2.5-1.5b-instruct.config.json /tmp/qwen1.5b [--dtype bf16]

Tensors are written one at a time (memory stays near the largest tensor). Needs numpy (python3-numpy).
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


def tensors(cfg):
    d, h, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    nh, nkv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    hd = cfg.get("head_dim") or d // nh
    V = cfg["vocab_size"]
    qwen = cfg["architectures"][0] == "Qwen2ForCausalLM"
    yield "model.embed_tokens.weight", (V, d)
    for l in range(L):
        p = f"model.layers.{l}."
        yield p + "input_layernorm.weight", (d,)
        yield p + "self_attn.q_proj.weight", (nh * hd, d)
        yield p + "self_attn.k_proj.weight", (nkv * hd, d)
        yield p + "self_attn.v_proj.weight", (nkv * hd, d)
        if qwen:
            yield p + "self_attn.q_proj.bias", (nh * hd,)
            yield p + "self_attn.k_proj.bias", (nkv * hd,)
            yield p + "self_attn.v_proj.bias", (nkv * hd,)
        yield p + "self_attn.o_proj.weight", (d, nh * hd)
        yield p + "post_attention_layernorm.weight", (d,)
        yield p + "mlp.gate_proj.weight", (h, d)
        yield p + "mlp.up_proj.weight", (h, d)
        yield p + "mlp.down_proj.weight", (d, h)
    yield "model.norm.weight", (d,)
    if not cfg.get("tie_word_embeddings", False):
        yield "lm_head.weight", (V, d)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["bf16", "f32", "f16"], default="bf16")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    cfg = json.load(open(a.config))
    os.makedirs(a.out, exist_ok=True)
    json.dump(cfg, open(os.path.join(a.out, "config.json"), "w"), indent=2)
    size = 4 if a.dtype == "f32" else 2
    st_dtype = {"bf16": "BF16", "f32": "F32", "f16": "F16"}[a.dtype]
    header, offset, specs = {}, 0, list(tensors(cfg))
    for name, shape in specs:
        n = int(np.prod(shape)) * size
        header[name] = {"dtype": st_dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    rng = np.random.default_rng(a.seed)
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape in specs:
            if name.endswith("norm.weight"):
                x = np.ones(shape, dtype=np.float32)
            else:
                x = rng.standard_normal(shape, dtype=np.float32) * 0.02
            if a.dtype == "bf16":
                x = (x.view(np.uint32) >> 16).astype(np.uint16)  # truncation is fine for random weights
            elif a.dtype == "f16":
                x = x.astype(np.float16)
            f.write(x.tobytes())
            del x
    print(f"wrote {a.out}: {len(specs)} tensors, {offset / 2**30:.2f} GiB", file=sys.stderr)


if __name__ == "__main__":
    main()
