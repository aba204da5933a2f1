"""The CLIP BPE tokenizer (transformers' slow CLIPTokenizer, ASCII path without ftfy), built from
OpenAI's bpe_simple_vocab_16e6.txt.gz, plus a writer for the four Hugging Face tokenizer files.
"""
from __future__ import annotations

import gzip
import json
import os
import re
from functools import lru_cache
from typing import Dict, List, Tuple

BPE_PATH = os.environ.get("TINYSHAPES_BPE") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "clip", "bpe_simple_vocab_16e6.txt.gz")
BOS, EOS = "<|startoftext|>", "<|endoftext|>"
MAX_LEN = 77


@lru_cache()
def bytes_to_unicode() -> Dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def load_merges(path: str = BPE_PATH) -> List[Tuple[str, str]]:
    lines = gzip.open(path).read().decode("utf-8").split("\n")
    lines = lines[1:49152 - 256 - 2 + 1]
    return [tuple(m.split()) for m in lines]


class ClipTokenizer:
    def __init__(self, path: str = BPE_PATH, pad_token: str = EOS):
        self.merges = load_merges(path)
        vocab = list(bytes_to_unicode().values())
        vocab = vocab + [v + "</w>" for v in vocab]
        for m in self.merges:
            vocab.append("".join(m))
        vocab += [BOS, EOS]
        self.encoder = {v: i for i, v in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(self.merges)}
        self.byte_encoder = bytes_to_unicode()
        self.pad_token = pad_token
        self.pat = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[a-zA-Z]+|[0-9]|[^\sa-zA-Z0-9]+""",
                              re.IGNORECASE)
        self.cache: Dict[str, str] = {}

    def bpe(self, token: str) -> List[str]:
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = [(self.ranks.get((word[i], word[i + 1]), 1 << 30), i) for i in range(len(word) - 1)]
            rank, _ = min(pairs)
            if rank == 1 << 30:
                break
            first, second = self.merges[rank]
            new, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = new
        return word

    def encode(self, text: str) -> List[int]:
        """Token ids with BOS/EOS, truncated and padded to 77 (ASCII prompts only)."""
        text = " ".join(text.split()).lower()
        ids = []
        for tok in self.pat.findall(text):
            t = "".join(self.byte_encoder[b] for b in tok.encode("utf-8"))
            ids += [self.encoder.get(s, self.encoder[EOS]) for s in self.bpe(t)]
        ids = [self.encoder[BOS]] + ids[:MAX_LEN - 2] + [self.encoder[EOS]]
        return ids + [self.encoder[self.pad_token]] * (MAX_LEN - len(ids))

    def write_hf_files(self, folder: str) -> None:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
            # As transformers' CLIPTokenizer.save_vocabulary writes it.
            f.write(json.dumps(self.encoder, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in self.merges) + "\n")
        special = {
            "bos_token": {"content": BOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
            "eos_token": {"content": EOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
            "pad_token": self.pad_token,
            "unk_token": {"content": EOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False},
        }
        with open(os.path.join(folder, "special_tokens_map.json"), "w", encoding="utf-8") as f:
            json.dump(special, f, indent=2)
        config = {
            "add_prefix_space": False,
            "added_tokens_decoder": {
                "49406": {"content": BOS, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False, "special": True},
                "49407": {"content": EOS, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False, "special": True},
            },
            "bos_token": BOS,
            "clean_up_tokenization_spaces": True,
            "do_lower_case": True,
            "eos_token": EOS,
            "errors": "replace",
            "model_max_length": MAX_LEN,
            "pad_token": self.pad_token,
            "tokenizer_class": "CLIPTokenizer",
            "unk_token": EOS,
        }
        with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)


if __name__ == "__main__":
    tok = ClipTokenizer()
    print(len(tok.encoder), tok.encode("a small red circle at the top left on a blue background")[:20])
