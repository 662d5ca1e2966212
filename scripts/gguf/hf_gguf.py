"""What llama.cpp's converters do to a Hugging Face Llama/Qwen2 checkpoint and
its PEFT LoRA adapters, written out independently of LoRAFuse: the GGUF
architecture string, the tensor names (from the `gguf` package's
TensorNameMap) and the q/k row permutation of Llama-family files.

Used by make_base_gguf.py, check_lora_gguf.py and
scripts/fixtures/make_gguf_fixtures.py.
"""

from __future__ import annotations

import json
import os
import re

import gguf
import numpy as np

# model_type -> (GGUF architecture, whether q/k rows are permuted).
# llama.cpp's converter handles MistralForCausalLM as a Llama model.
ARCHS = {"llama": ("llama", True), "mistral": ("llama", True), "qwen2": ("qwen2", False), "qwen3": ("qwen3", False)}


def read_config(model_dir: str) -> dict:
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def arch_of(config: dict) -> tuple[str, bool]:
    model_type = config["model_type"]
    if model_type not in ARCHS:
        raise SystemExit(f"model_type {model_type!r} is not one of {sorted(ARCHS)}")
    return ARCHS[model_type]


def name_map(config: dict) -> gguf.TensorNameMap:
    arch = {name: key for key, name in gguf.MODEL_ARCH_NAMES.items()}[arch_of(config)[0]]
    return gguf.get_tensor_name_map(arch, config["num_hidden_layers"])


def gguf_name(tmap: gguf.TensorNameMap, hf_name: str) -> str:
    """The GGUF name of a Hugging Face tensor (`…q_proj.weight` -> `blk.N.attn_q.weight`)."""
    name = tmap.get_name(hf_name, try_suffixes=(".weight", ".bias"))
    if name is None:
        raise SystemExit(f"the gguf package's TensorNameMap has no name for {hf_name}")
    return name


def rope_heads(config: dict, hf_name: str) -> int | None:
    """The head count whose rows llama.cpp's Llama converter permutes, or None."""
    if not arch_of(config)[1]:
        return None
    n_head = config["num_attention_heads"]
    if ".q_proj." in hf_name + ".":
        return n_head
    if ".k_proj." in hf_name + ".":
        return config.get("num_key_value_heads") or n_head
    return None


def permute_rows(w: np.ndarray, n_head: int) -> np.ndarray:
    """Within each head, rows [first half; second half] become interleaved pairs (rotate_half -> GPT-J RoPE order)."""
    half = w.shape[0] // n_head // 2
    return w.reshape(n_head, 2, half, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def natural_key(name: str) -> list:
    """Sort key comparing digit runs as numbers (layers.2 before layers.10)."""
    return [(int(part), len(part)) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", name))]


def peft_modules(model_dir: str, adapter_dir: str) -> list[dict]:
    """Every LoRA module as PEFT loads it onto the model: name, A, B, rank and scaling (natural name order)."""
    import torch
    from peft import PeftModel
    from peft.tuners.lora import LoraLayer
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging

    logging.disable_progress_bar()
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, adapter_dir)
    modules = []
    for full_name, module in model.named_modules():
        if isinstance(module, LoraLayer) and "default" in module.lora_A:
            modules.append(
                {
                    "name": full_name.removeprefix("base_model.model."),
                    "a": module.lora_A["default"].weight.detach().float().numpy(),
                    "b": module.lora_B["default"].weight.detach().float().numpy(),
                    "r": module.r["default"],
                    "scaling": float(module.scaling["default"]),
                }
            )
    return sorted(modules, key=lambda m: natural_key(m["name"]))


def expected_lora_gguf(model_dir: str, adapter_dir: str) -> dict:
    """What a llama.cpp LoRA GGUF of this PEFT adapter holds under LoRAFuse's
    documented rules (docs/gguf.md), derived from PEFT's own module objects:
    A as it is; B with q/k rows permuted for Llama-family models, times
    scaling * r / alpha where a module's scaling * r is not the file's alpha
    (the most common scaling * r, first module on ties, never 0)."""
    config = read_config(model_dir)
    tmap = name_map(config)
    modules = peft_modules(model_dir, adapter_dir)
    exact = [m["scaling"] * m["r"] for m in modules]
    counts: dict[float, int] = {}
    for value in exact:
        if value != 0 and np.isfinite(np.float32(value)):
            counts[value] = counts.get(value, 0) + 1
    alpha = max(counts, key=counts.get) if counts else 1.0
    tensors = []
    for m, value in zip(modules, exact):
        b = m["b"]
        heads = rope_heads(config, m["name"])
        if heads is not None:
            b = permute_rows(b, heads)
        if value != alpha:
            b = (b.astype(np.float64) * (value / alpha)).astype(np.float32)
        weight = gguf_name(tmap, m["name"] + ".weight")
        tensors.append({"name": weight + ".lora_a", "data": m["a"], "module": m["name"], "factor": "A"})
        tensors.append({"name": weight + ".lora_b", "data": b, "module": m["name"], "factor": "B", "r": m["r"], "scaling": m["scaling"], "permuted": heads is not None})
    return {"architecture": arch_of(config)[0], "alpha": alpha, "tensors": tensors, "modules": modules}
