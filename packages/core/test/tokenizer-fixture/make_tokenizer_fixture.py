"""Writes the tokenizer fixture of tokenizer-hf.test.ts with the Python
`tokenizers` library (the Rust implementation): a small byte-level BPE
trained on a few fixed lines, its tokenizer_config.json, and the ids the
Rust library gives for sample texts (expected.json).

Run: /path/to/python make_tokenizer_fixture.py (tokenizers as installed
with transformers); the test itself never needs Python."""
import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

here = Path(__file__).parent
tok = Tokenizer(models.BPE(unk_token=None))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "</s>", "<pad>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
lines = ["ls lists directory contents", "cp copies files and directories", "rm removes files or directories", "日本語のテキストです。"]
tok.train_from_iterator(lines * 20, trainer)
tok.save(str(here / "tokenizer.json"))
(here / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}) + "\n")
samples = ["list the files in a directory", "日本語 テキスト", "héllo wörld 🙂", "cp copies files"]
expected = {"vocab_size": tok.get_vocab_size(), "special": {t: tok.token_to_id(t) for t in ["<s>", "</s>", "<pad>"]}, "encode": {s: tok.encode(s).ids for s in samples}}
(here / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n")
