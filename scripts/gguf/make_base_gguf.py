"""Writes a base-model GGUF of a tiny Hugging Face Llama or Qwen2 folder with
the `gguf` package's GGUFWriter, as llama.cpp's convert_hf_to_gguf.py would
(f32 tensors, TensorNameMap names, q/k rows permuted for Llama), with a
placeholder byte-pair vocabulary of `vocab_size` single letters: the checks
give llama.cpp token ids, but its runtimes expect a tokenizer to be there
(a BPE one skips text it cannot encode, where SentencePiece's byte fallback
would need all 256 byte pieces).

Usage: python make_base_gguf.py <model-dir> <out.gguf>
"""

from __future__ import annotations

import sys

import gguf
import numpy as np
from safetensors.numpy import load_file

from hf_gguf import arch_of, gguf_name, name_map, read_config, rope_heads, permute_rows


def rope_theta(config: dict) -> float:
    params = config.get("rope_parameters") or {}
    if params.get("rope_type", "default") != "default" or config.get("rope_scaling"):
        raise SystemExit("only plain RoPE is written here (no rope scaling)")
    return float(params.get("rope_theta", config.get("rope_theta", 10000.0)))


def main(model_dir: str, out: str) -> None:
    config = read_config(model_dir)
    arch, _ = arch_of(config)
    n_head = config["num_attention_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // n_head
    writer = gguf.GGUFWriter(out, arch)
    writer.add_name(f"{config['model_type']} tiny")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(n_head)
    writer.add_head_count_kv(config.get("num_key_value_heads") or n_head)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(rope_theta(config))
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_vocab_size(config["vocab_size"])
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    pieces = [chr(0x100 + i) for i in range(config["vocab_size"])]
    writer.add_token_list(pieces)
    writer.add_token_types([gguf.TokenType.NORMAL] * len(pieces))
    writer.add_token_merges([f"{pieces[0]} {pieces[1]}"])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    tmap = name_map(config)
    for hf_name, tensor in load_file(f"{model_dir}/model.safetensors").items():
        data = tensor.astype(np.float32)
        heads = rope_heads(config, hf_name)
        if heads is not None:
            data = permute_rows(data, heads)
        writer.add_tensor(gguf_name(tmap, hf_name), data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
