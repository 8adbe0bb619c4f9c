"""HuggingFace `tokenizers` version of the CLIP BPE, built from open_clip's own vocabulary file.

Matches open_clip.tokenize ids (before its truncate/pad step) for text that ftfy/html-unescape leave
unchanged apart from NFC and curly quotes; see README for the remaining differences.
"""
from __future__ import annotations

import gzip
from pathlib import Path

from open_clip.tokenizer import bytes_to_unicode, default_bpe
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

SOT = "<|startoftext|>"
EOT = "<|endoftext|>"
SOT_ID = 49406
EOT_ID = 49407
NUM_MERGES = 49152 - 256 - 2  # open_clip keeps merges lines 2..48895 of the file
# open_clip's pre-tokeniser regex without its special-token alternatives (specials are added tokens here).
CLIP_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def load_merges(bpe_path: str | Path | None = None) -> list[tuple[str, str]]:
    with gzip.open(bpe_path or default_bpe(), "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    return [tuple(line.split()) for line in lines[1:NUM_MERGES + 1]]


def build_vocab(merges: list[tuple[str, str]]) -> dict[str, int]:
    """Same order as open_clip's SimpleTokenizer: bytes, bytes+'</w>', merges, then the two specials."""
    byte_syms = list(bytes_to_unicode().values())
    vocab = byte_syms + [s + "</w>" for s in byte_syms] + ["".join(m) for m in merges] + [SOT, EOT]
    ids = {tok: i for i, tok in enumerate(vocab)}
    assert len(ids) == len(vocab) == 49408, len(ids)
    assert ids[SOT] == SOT_ID and ids[EOT] == EOT_ID
    return ids


def build_tokenizer(bpe_path: str | Path | None = None) -> Tokenizer:
    merges = load_merges(bpe_path)
    vocab = build_vocab(merges)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>", unk_token=EOT,
                               fuse_unk=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFC(),  # ftfy.fix_text normalises to NFC
        # ftfy also "uncurls" quotes; without this "it’s" would not split as "it" + "'s".
        normalizers.Replace(Regex("[\u2018\u2019\u201a\u201b]"), "'"),
        normalizers.Replace(Regex("[\u201c\u201d\u201e\u201f]"), '"'),
        normalizers.Replace(Regex(r"\s+"), " "),
        normalizers.Strip(),
        normalizers.Lowercase(),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CLIP_PATTERN), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Replace("</w>", " "), decoders.Strip(" ", 0, 1)])
    tok.add_special_tokens([SOT, EOT])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SOT} $A {EOT}", pair=f"{SOT} $A {EOT} $B {EOT}",
        special_tokens=[(SOT, SOT_ID), (EOT, EOT_ID)],
    )
    return tok


def write_tokenizer(path: str | Path) -> None:
    build_tokenizer().save(str(path))


def to_context(ids: list[int], context_length: int = 77) -> list[int]:
    """What the Java server does with the tokenizer output: truncate keeping EOT last, zero-pad to the context."""
    if len(ids) > context_length:
        ids = ids[:context_length - 1] + [EOT_ID]
    return ids + [0] * (context_length - len(ids))
