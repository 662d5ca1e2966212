"""Reads llama.cpp LoRA GGUF files back with the `gguf` package's GGUFReader
and checks each against the PEFT adapter it was exported from: the metadata
llama.cpp reads (general.type, general.architecture, adapter.type,
adapter.lora.alpha), tensor names equal to what the package's TensorNameMap
gives the adapted weights, and every tensor equal to PEFT's factor after the
documented permutation and scaling fold (see hf_gguf.expected_lora_gguf);
independently of that rule, llama.cpp's alpha / rank(B) * B @ A must equal
PEFT's scaling * B @ A (permuted rows for Llama q/k) for every module.

Usage: python check_lora_gguf.py <model-dir> <adapter-dir> <file.gguf> [more triples...]
Prints one JSON object per file; exits 1 when any check fails.
"""

from __future__ import annotations

import json
import sys

import gguf
import numpy as np

from hf_gguf import expected_lora_gguf, permute_rows, read_config, rope_heads


def field(reader: gguf.GGUFReader, key: str):
    f = reader.get_field(key)
    return None if f is None else f.contents()


def check(model_dir: str, adapter_dir: str, path: str) -> dict:
    reader = gguf.GGUFReader(path)
    expected = expected_lora_gguf(model_dir, adapter_dir)
    problems: list[str] = []
    meta = {k: field(reader, k) for k in ("general.type", "general.architecture", "adapter.type", "adapter.lora.alpha")}
    want = {"general.type": "adapter", "general.architecture": expected["architecture"], "adapter.type": "lora"}
    problems += [f"{k} is {meta[k]!r}, expected {v!r}" for k, v in want.items() if meta[k] != v]
    alpha = meta["adapter.lora.alpha"]
    if alpha is None or alpha != np.float32(expected["alpha"]):
        problems.append(f"adapter.lora.alpha is {alpha!r}, expected {float(np.float32(expected['alpha']))!r}")
    alpha_type = reader.get_field("adapter.lora.alpha")
    if alpha_type is not None and alpha_type.types != [gguf.GGUFValueType.FLOAT32]:
        problems.append(f"adapter.lora.alpha has type {alpha_type.types}, expected FLOAT32")

    found = {t.name: t for t in reader.tensors}
    names = [t["name"] for t in expected["tensors"]]
    if sorted(found) != sorted(names):
        problems.append(f"tensor names {sorted(found)} differ from TensorNameMap's {sorted(names)}")
    worst = 0.0
    for want_t in expected["tensors"]:
        got = found.get(want_t["name"])
        if got is None:
            continue
        data = np.asarray(got.data, dtype=np.float32).reshape(want_t["data"].shape) if got.data.size == want_t["data"].size else None
        if data is None or list(got.shape) != list(reversed(want_t["data"].shape)):
            problems.append(f"{want_t['name']}: GGUF dims {list(got.shape)}, expected {list(reversed(want_t['data'].shape))}")
            continue
        # f16 files hold the factors rounded to half precision.
        tol = 0.0 if got.tensor_type == gguf.GGMLQuantizationType.F32 else 2.0**-11
        err = float(np.max(np.abs(data - want_t["data"]) / np.maximum(np.abs(want_t["data"]), 2.0**-14))) if data.size else 0.0
        worst = max(worst, err)
        if err > tol:
            problems.append(f"{want_t['name']}: differs from PEFT's {want_t['factor']} by {err:.3g} (relative)")

    # The product llama.cpp applies, against PEFT's, without the fold rule.
    config = read_config(model_dir)
    delta_err = 0.0
    for m in expected["modules"]:
        weight = next(t["name"][: -len(".lora_b")] for t in expected["tensors"] if t.get("module") == m["name"] and t["factor"] == "B")
        a, b = found.get(weight + ".lora_a"), found.get(weight + ".lora_b")
        if a is None or b is None or a.data.size != m["a"].size or b.data.size != m["b"].size:
            continue  # reported above
        a_data = np.asarray(a.data, dtype=np.float64).reshape(m["a"].shape)
        b_data = np.asarray(b.data, dtype=np.float64).reshape(m["b"].shape)
        rank = int(b.shape[0])  # llama.cpp: rank = ne[0] of lora_b
        ours = (np.float64(np.float32(alpha)) / rank) * b_data @ a_data
        heads = rope_heads(config, m["name"])
        peft_b = m["b"].astype(np.float64)
        theirs = m["scaling"] * (permute_rows(peft_b, heads) if heads is not None else peft_b) @ m["a"].astype(np.float64)
        delta_err = max(delta_err, float(np.linalg.norm(ours - theirs) / max(np.linalg.norm(theirs), 1e-30)))
    if delta_err > (1e-6 if all(t.tensor_type == gguf.GGMLQuantizationType.F32 for t in reader.tensors) else 2e-3):
        problems.append(f"alpha/rank * B @ A differs from PEFT's scaled update by {delta_err:.3g} (relative L2)")
    return {"file": path, "adapter": adapter_dir, "tensors": len(found), "max_factor_error": worst, "max_delta_error": delta_err, "problems": problems}


def main(args: list[str]) -> int:
    if len(args) == 0 or len(args) % 3:
        raise SystemExit(__doc__)
    failed = False
    for i in range(0, len(args), 3):
        result = check(*args[i : i + 3])
        failed |= bool(result["problems"])
        print(json.dumps(result))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
