"""Which encoding a shop's export is in, judged from its bytes and from what the text says.

Byte validity is not enough: GBK bytes are often valid UTF-8 too (卢强 in GBK is ``C2 AC C7
BF``, which UTF-8 reads as ``¬ǿ``), and a maintained detector (charset-normalizer) picks
UTF-8 for them as well. So a decoding is also judged by whether its text is plausible for a
Chinese shop: its non-ASCII characters are common hanzi (GB2312), CJK and full-width
punctuation, kana, or letters. When neither UTF-8 nor GB18030 reads plausibly, the importer
stops and asks for ``--encoding`` rather than guess.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),  # the utf-16 codec reads (and drops) either BOM
    (b"\xfe\xff", "utf-16"),
)
PLAUSIBLE = 0.9  # share of plausible non-ASCII characters for a decoding to be believed
DOUBTFUL = 0.5  # below this a decoding is rejected when another one is plausible

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def bom_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark announces, if the data starts with one."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    return None


def _plausible_char(ch: str) -> bool:
    code = ord(ch)
    if 0x4E00 <= code <= 0x9FFF:  # CJK unified: common if GB2312 has it (6763 hanzi)
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            return False
        return True
    if 0x3000 <= code <= 0x30FF or 0xFF01 <= code <= 0xFF5E:  # CJK punctuation, kana, full-width
        return True
    if code in (0x00B7, 0x2014, 0x2018, 0x2019, 0x201C, 0x201D, 0x2026, 0x00A5, 0x00A0):
        return True  # · — ‘ ’ “ ” … ¥ and no-break space, common in Chinese text
    if code < 0x0250:  # Latin letters with accents (José), not symbols (¬ ½ ÷)
        return unicodedata.category(ch).startswith("L") and code < 0x0180
    if 0x2400 <= code <= 0x2421:  # the pictures control characters are cleaned into
        return True
    return unicodedata.category(ch) == "So"  # emoji and other symbols shops use


def plausibility(text: str) -> float:
    """Share (0..1) of the non-ASCII characters of ``text`` that a Chinese shop's export
    plausibly holds; 1.0 for pure ASCII."""
    counts = Counter(_NON_ASCII.findall(text))  # judged once per distinct character
    # Controls and format marks (C1, bidi) say nothing about the encoding: the importer
    # cleans them whatever it is (core.safetext).
    for ch in [c for c in counts if unicodedata.category(c) in ("Cc", "Cf")]:
        del counts[ch]
    total = sum(counts.values())
    if not total:
        return 1.0
    return sum(n for ch, n in counts.items() if _plausible_char(ch)) / total


class EncodingDoubt(ValueError):
    """Neither UTF-8 nor GB18030 gives plausible text: the caller asks for --encoding."""


def judge(sample: bytes, utf8_valid: bool) -> str:
    """The encoding of a file from a sample of its bytes (whole lines, the first MB or so)
    and whether the whole file is valid UTF-8. Raises EncodingDoubt."""
    if utf8_valid:
        p8 = plausibility(sample.decode("utf-8", "replace"))
        if p8 >= PLAUSIBLE:
            return "utf-8-sig"
    else:
        p8 = 0.0
    try:
        gbk_text: str | None = sample.decode("gb18030")
    except UnicodeDecodeError:
        gbk_text = None
    pg = plausibility(gbk_text) if gbk_text is not None else 0.0
    if pg >= PLAUSIBLE and p8 < DOUBTFUL:
        return "gb18030"
    if not utf8_valid and gbk_text is not None:
        # Not UTF-8: ask the detector, and believe it only if its text is plausible.
        from charset_normalizer import from_bytes

        best = from_bytes(sample).best()
        if best is not None and best.encoding and plausibility(str(best)) >= PLAUSIBLE:
            return "gb18030" if best.encoding in ("gbk", "gb2312", "gb18030") else best.encoding
        if pg >= DOUBTFUL:
            return "gb18030"
    if not utf8_valid and gbk_text is None:
        return "gb18030"  # the reader names the first line that does not decode
    shown = "UTF-8" if utf8_valid else "GBK"
    raise EncodingDoubt(
        f"the text does not read as plausible Chinese as UTF-8 or as GBK ({shown} "
        f"{p8 if utf8_valid else pg:.0%} plausible)"
    )
