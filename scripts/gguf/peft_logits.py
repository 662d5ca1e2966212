"""Logits of tiny Hugging Face models, bare and with PEFT adapters, for the
llama.cpp check (scripts/check-gguf.mjs): transformers + PEFT in float32.

Usage: python peft_logits.py <tokens,comma,separated> <model-dir>[:<adapter-dir>] ...
Prints one JSON object: {"<model-dir>[:<adapter-dir>]": [[logit, ...] per position]}.
"""

from __future__ import annotations

import json
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM
from transformers.utils import logging


def main(tokens: str, *jobs: str) -> None:
    logging.disable_progress_bar()
    torch.set_num_threads(1)
    ids = torch.tensor([[int(t) for t in tokens.split(",")]])
    out = {}
    for job in jobs:
        model_dir, _, adapter_dir = job.partition(":")
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
        if adapter_dir:
            model = PeftModel.from_pretrained(model, adapter_dir)
        with torch.no_grad():
            out[job] = model.eval()(ids).logits[0].tolist()
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:])
