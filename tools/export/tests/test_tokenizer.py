"""tokenizer.json (HF tokenizers) must give open_clip.tokenize's ids."""
import json

import open_clip
import pytest
from tokenizers import Tokenizer

from inctrl_export.prompts import sentences
from inctrl_export.tokenizer import EOT_ID, SOT_ID, to_context, write_tokenizer

CATEGORIES = ["candle", "metal_nut", "Metal_Nut", "pipe_fryum", "SDD", "AITEX", "head_ct", "transistor", "mono",
              "macaroni2"]
AWKWARD = [
    "a photo of 3 screws, 12 nuts & 1,234.5 mm",
    "under_score_names and __dunder__",
    "it's, we're, they've, I'm, you'll, he'd, can't, WON'T",
    "it\u2019s the \u201cbest\u201d one",  # curly quotes (ftfy uncurls them)
    "naïve café Zürich Ærøskøbing straße",
    "日本語のテキスト and emoji 😀👍🏽",
    "   leading   and\ttrailing \n whitespace   ",
    "punctuation!!! ??? ... ;-) (brackets) [x] {y} <z> @#$%^*",
    "MiXeD CaSe WoRdS",
    "x" * 300,
    "e\u0301cole",  # decomposed accent: NFC must compose it like ftfy does
    "",
]


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    write_tokenizer(path)
    return Tokenizer.from_file(str(path))  # test the serialised file, as the server reads it


def _open_clip_ids(texts):
    return [[int(i) for i in row if i != 0] for row in open_clip.tokenize(texts)]


def _hf_ids(tok, texts):
    return [e.ids for e in tok.encode_batch(texts)]


@pytest.mark.parametrize("category", CATEGORIES)
def test_default_sentences_match_open_clip(tok, category):
    normal, anomalous = sentences(category)
    texts = normal + anomalous
    assert (len(normal), len(anomalous)) == (154, 88)
    assert _hf_ids(tok, texts) == _open_clip_ids(texts)


@pytest.mark.parametrize("category", ["bird", "airplane", "animal"])
def test_cifar_sentences_match_open_clip(tok, category):
    normal, anomalous = sentences(category)
    assert (len(normal), len(anomalous)) == (1, 1)
    assert _hf_ids(tok, normal + anomalous) == _open_clip_ids(normal + anomalous)


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_strings_match_after_context(tok, text):
    want = open_clip.tokenize([text])[0].tolist()
    assert to_context(tok.encode(text).ids) == want


def test_vocab_and_specials(tok):
    assert tok.get_vocab_size() == 49408
    assert tok.token_to_id("<|startoftext|>") == SOT_ID
    assert tok.token_to_id("<|endoftext|>") == EOT_ID
    ids = tok.encode("a photo of a candle.").ids
    assert ids[0] == SOT_ID and ids[-1] == EOT_ID


def test_file_is_plain_hf_json(tmp_path):
    path = tmp_path / "tokenizer.json"
    write_tokenizer(path)
    doc = json.loads(path.read_text())
    assert doc["model"]["type"] == "BPE"
    assert doc["model"]["end_of_word_suffix"] == "</w>"
    assert len(doc["model"]["merges"]) == 48894
