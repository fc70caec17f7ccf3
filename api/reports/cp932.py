"""Text for Excel on municipal PCs that only read Shift_JIS (Windows code page 932).

CP932 cannot hold every character a name or a note may contain: emoji, and the JIS X 0213 kanji
outside JIS X 0208 and the IBM/NEC extensions (e.g. 𠮷 in 𠮷野). Such a character becomes 〓 (geta,
the sign Japanese typesetting uses for a missing glyph) instead of failing the whole file, and
the caller is told how many were replaced.

A few characters have a CP932 twin at another code point (Unicode's WAVE DASH 〜 is CP932's
FULLWIDTH TILDE ～, and so on, the Shift_JIS / CP932 mapping difference): those are written as the
twin, which Excel shows the same, rather than as 〓.
"""

from __future__ import annotations

GETA = "〓"
ENCODING = "cp932"
_GETA_BYTES = GETA.encode(ENCODING)

# Unicode → the code point CP932 maps the same Shift_JIS character to.
_TWINS = str.maketrans(
    {
        "\u301c": "\uff5e",  # 〜 WAVE DASH → ～
        "\u2016": "\u2225",  # ‖ DOUBLE VERTICAL LINE → ∥
        "\u2212": "\uff0d",  # − MINUS SIGN → －
        "\u00a2": "\uffe0",  # ¢
        "\u00a3": "\uffe1",  # £
        "\u00ac": "\uffe2",  # ¬
        "\u2014": "\u2015",  # — EM DASH → ―
    }
)


def encode(text: str) -> tuple[bytes, int]:
    """`text` in CP932, and how many characters became 〓."""
    text = text.translate(_TWINS)
    try:
        return text.encode(ENCODING), 0
    except UnicodeEncodeError:
        pass
    out = bytearray()
    replaced = 0
    for char in text:
        try:
            out += char.encode(ENCODING)
        except UnicodeEncodeError:
            out += _GETA_BYTES
            replaced += 1
    return bytes(out), replaced
