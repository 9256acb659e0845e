"""Readers of the public data sets under ../shared/data (never copied into the project).

One canonical document stream, shared by the tokenizer corpus (make_tokenizer_corpus.py) and the
pretraining shards (pretrain_data.py), so "held out" means the same documents everywhere:

    every document whose index in the canonical stream is a multiple of HELDOUT_EVERY (20).

Canonical order (index 0 first): the five original sources of the tokenizer corpus, then the
optional extra sources. Extras are appended at the end so that adding them never moves the index of
an original document (the tokenizer's held-out set stays the same).

| source | domain, lang | what |
| --- | --- | --- |
| cuad | legal, en | CUAD contracts, one document per contract |
| tongda | legal, zh | Chinese contract templates (research-only licence, see its README) |
| laws | law, zh | national laws and judicial interpretations, one document per text |
| zh_med_queries | medical, zh | CBLUE KUAKE-QIC/QTR/QQR, CHIP-STS, CMID: one document per item |
| medquad | medical, en | MedQuAD, one document per XML file (its questions and answers) |
| laws_local (extra) | law, zh | local regulations (lower priority) |
| cmdd (extra) | medical, zh | Chinese medical dialogue sample: title, question, answer |

`text_only=True` (pretraining) keeps only the text fields of the medical query items; the default
keeps every string field except `id` and `label`, as the tokenizer corpus was built (labels such as
CMID's class names then appear as text). Both modes yield the same documents in the same order.
"""
import csv
import glob
import gzip
import io
import json
import os
import re
import tarfile

HELDOUT_EVERY = 20

ORIGINAL_SOURCES = ("cuad", "tongda", "laws", "zh_med_queries", "medquad")
EXTRA_SOURCES = ("laws_local", "cmdd")
SOURCES = ORIGINAL_SOURCES + EXTRA_SOURCES
SOURCE_GROUP = {
    "cuad": ("legal", "en"), "tongda": ("legal", "zh"), "laws": ("law", "zh"), "zh_med_queries": ("medical", "zh"),
    "medquad": ("medical", "en"), "laws_local": ("law", "zh"), "cmdd": ("medical", "zh"),
}

# file under medical/, and the fields that are text (text_only mode)
ZH_MED_FILES = (
    ("cblue_kuake_qic/KUAKE-QIC_train.json.gz", ("query",)),
    ("cblue_kuake_qtr/KUAKE-QTR_train.json.gz", ("query", "title")),
    ("cblue_kuake_qqr/KUAKE-QQR_train.json.gz", ("query1", "query2")),
    ("cblue_chip_sts/CHIP-STS_train.json.gz", ("text1", "text2")),
    ("cmid/CMID_train.json.gz", ("text",)),
)


def group_of(source):
    """'legal-en', 'law-zh', 'medical-zh' ...: the data-mix group a source belongs to."""
    domain, lang = SOURCE_GROUP[source]
    return f"{domain}-{lang}"


def is_heldout(index):
    return index % HELDOUT_EVERY == 0


def _cuad(data, text_only):
    for path in sorted(glob.glob(os.path.join(data, "legal/cuad/contracts/*.txt.gz"))):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            yield f.read()


def _tongda(data, text_only):
    for path in sorted(glob.glob(os.path.join(data, "legal/zh-contracts-tongda/contracts/*.txt"))):
        with open(path, encoding="utf-8", errors="replace") as f:
            yield f.read()


def _laws_file(name):
    def read(data, text_only):
        path = os.path.join(data, "legal/zh-laws-lawrefbook", name)
        if not os.path.exists(path):
            return
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)["text"]
    return read


def _zh_med_queries(data, text_only):
    for name, fields in ZH_MED_FILES:
        path = os.path.join(data, "medical", name)
        if not os.path.exists(path):
            continue
        with gzip.open(path, "rt", encoding="utf-8") as f:
            items = json.load(f)
        for item in items:
            if text_only:
                parts = [item[k] for k in fields if isinstance(item.get(k), str) and len(item[k]) > 1]
            else:
                parts = [v for k, v in item.items() if isinstance(v, str) and k not in ("id", "label") and len(v) > 1]
            yield "\n".join(parts)


def _medquad(data, text_only):
    path = os.path.join(data, "medical/medquad/medquad_xml.tar.xz")
    if not os.path.exists(path):
        return
    pattern = re.compile(r"<(?:Question|Answer)[^>]*>(.*?)</(?:Question|Answer)>", re.S)
    with tarfile.open(path) as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".xml"):
                xml = tar.extractfile(member).read().decode("utf-8", "replace")
                yield "\n".join(pattern.findall(xml))


def _cmdd(data, text_only):
    path = os.path.join(data, "medical/toyhom_cmdd_im_sample/im_sample_train.csv.gz")
    if not os.path.exists(path):
        return
    with gzip.open(path, "rb") as f:
        reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8", newline=""))
        for row in reader:
            yield "\n".join(row.get(k) or "" for k in ("title", "ask", "answer"))


READERS = {
    "cuad": _cuad, "tongda": _tongda, "laws": _laws_file("laws.jsonl.gz"), "zh_med_queries": _zh_med_queries,
    "medquad": _medquad, "laws_local": _laws_file("laws_local.jsonl.gz"), "cmdd": _cmdd,
}


def iter_documents(data, sources=None, text_only=False, limit_per_source=None):
    """Yields (index, source, text) in canonical order.

    index: position in the canonical stream (original sources, then extras), the basis of the held-out
    rule. sources: names to yield (None: the original five). Sources not asked for are still counted
    when an index depends on them (an original source before a wanted one), never when it does not.
    limit_per_source: yield at most this many documents of each source (the rest are still counted,
    so the indices, hence the held-out split, do not depend on the limit).
    """
    wanted = set(ORIGINAL_SOURCES if sources is None else sources)
    unknown = wanted - set(SOURCES)
    if unknown:
        raise ValueError(f"[corpora] unknown sources {sorted(unknown)}; known: {list(SOURCES)}")
    last = max(SOURCES.index(s) for s in wanted) if wanted else -1
    index = 0
    for source in SOURCES[:last + 1]:
        taken = 0
        for text in READERS[source](data, text_only):
            if source in wanted and (limit_per_source is None or taken < limit_per_source):
                taken += 1
                yield index, source, text
            index += 1


def documents(data):
    """Yields (domain, lang, text) for every document of the original sources (the tokenizer corpus)."""
    for _, source, text in iter_documents(data):
        domain, lang = SOURCE_GROUP[source]
        yield domain, lang, text
