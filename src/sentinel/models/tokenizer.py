"""A real CLIP tokenizer with no hub access: the BPE vocabulary that ships inside open_clip.

transformers' `CLIPTokenizer.from_pretrained` needs the hub (and, unreachable, may silently build an
empty tokenizer). open_clip bundles OpenAI's CLIP BPE file; the vocabulary below is built from it the
same way OpenAI's and open_clip's tokenizers build theirs, so ids match open_clip token for token
(tests/test_models.py checks this).
"""
from __future__ import annotations

import functools
import gzip

from open_clip.tokenizer import bytes_to_unicode, default_bpe
from transformers import CLIPTokenizer

N_MERGES = 49152 - 256 - 2  # as in OpenAI's CLIP: 48,894 merges, vocab size 49,408


@functools.lru_cache(maxsize=1)
def _vocab_and_merges() -> tuple[dict[str, int], list[str]]:
    lines = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    merges = lines[1 : N_MERGES + 1]
    tokens = list(bytes_to_unicode().values())
    tokens += [t + "</w>" for t in tokens]
    tokens += ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {t: i for i, t in enumerate(tokens)}, merges


def clip_tokenizer(model_max_length: int = 77) -> CLIPTokenizer:
    vocab, merges = _vocab_and_merges()
    return CLIPTokenizer(vocab=dict(vocab), merges=[tuple(m.split()) for m in merges],
                         model_max_length=model_max_length)
