"""CSV files as offices send them (shared by the import tests)."""

from __future__ import annotations

import codecs

HEADER = "氏名,ふりがな,生年,住所,電話,地区,世帯,リスク,支援内容,緊急連絡先氏名,緊急連絡先続柄,緊急連絡先電話,緯度,経度"

GOOD_ROWS = [
    "山田 花子,やまだ はなこ,昭和15,テスト市中央1-2-3,027-012-3456,中央地区,独居,高,買い物の支援,山田 一郎,長男,090-0000-1111,36.39,139.06",
    "鈴木 一郎,スズキ イチロウ,1938,テスト市中央2-3-4,,中央地区,高齢夫婦,medium,,,,,,",
    '髙橋 幸子,ﾀｶﾊｼ ｻﾁｺ,1945年,テスト市北町1-1,,北地区,日中独居,低,"通院の付き添い, 月2回",,,,,',
]

# Line numbers as Excel shows them: the header is line 1.
BAD_ROWS = [
    "田中 節子,たなか せつこ,1940,テスト市中央3-3,,中央地区,独居,高,,,,,,",  # line 2: fine
    "伊藤 清,いとう きよし,1936,テスト市南1-1,,南地区,独居,中,,,,,,",  # line 3: unknown district
    "渡辺 和子,わたなべ かずこ,むかし,テスト市中央4-4,,中央地区,独居,とても高い,,,,,,",  # line 4: year, risk
    ",,1950,テスト市中央5-5,,中央地区,独居,低,,,,,,",  # line 5: no name
    "小林 茂,こばやし しげる,1941,テスト市中央6-6,,中央地区,独居,低,,,,,36.4,",  # line 6: latitude only
]


def csv_bytes(rows: list[str], encoding: str = "utf-8", bom: bool = False) -> bytes:
    text = "\r\n".join([HEADER, *rows]) + "\r\n"  # Excel writes CRLF
    data = text.encode(encoding)
    return (codecs.BOM_UTF8 + data) if bom else data
