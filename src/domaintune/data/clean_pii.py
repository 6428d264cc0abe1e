"""PII redaction for `data clean --redact-pii`: e-mail, phones, Chinese resident ID numbers."""

from __future__ import annotations

import re
from collections import Counter

EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
# 18-digit resident identity number, GB 11643-1999: 6-digit area, YYYYMMDD birth date, 3-digit
# sequence, check character. Digits on either side mean a longer number, not an ID.
ID_CARD_RE = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})((?:19|20)\d{2})(\d{2})(\d{2})\d{3}[\dXx](?![0-9])"
)
# Mainland mobile numbers: 1[3-9] + 9 digits (MIIT numbering plan), optionally +86, 3-4-4 grouped.
CN_MOBILE_RE = re.compile(r"(?<![\d+])(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
# North-American style with separators: (555) 123-4567, 555-123-4567, +1 555 123 4567.
NA_PHONE_RE = re.compile(r"(?<![\d+])(?:\+1[ .-]?)?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)")

# GB 11643-1999 check character: ISO 7064 MOD 11-2 weights and the character for each remainder.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_id_card(number: str) -> bool:
    """True when an 18-character resident ID has a real birth month/day and a correct check."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    month, day = int(number[10:12]), int(number[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def redact_pii(text: str) -> tuple[str, Counter]:
    """Replace e-mails, ID numbers (checksum-valid only) and phones by tags; count each kind."""
    counts: Counter = Counter()

    def tag(name: str):
        def sub(match: re.Match) -> str:
            counts[name] += 1
            return f"<{name}>"

        return sub

    def id_card(match: re.Match) -> str:
        if not valid_id_card(match.group(0)):
            return match.group(0)
        counts["ID_CARD"] += 1
        return "<ID_CARD>"

    text = EMAIL_RE.sub(tag("EMAIL"), text)
    text = ID_CARD_RE.sub(id_card, text)  # before phones: an ID holds phone-like digit runs
    text = CN_MOBILE_RE.sub(tag("PHONE"), text)
    text = NA_PHONE_RE.sub(tag("PHONE"), text)
    return text, counts
