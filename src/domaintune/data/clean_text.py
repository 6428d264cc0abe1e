"""Text repair for `data clean`: HTML to main text, ftfy, NFKC, whitespace, boilerplate lines."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# Full-width CJK punctuation that NFKC would turn into ASCII (，-> ,  ！-> !); Chinese text uses
# the full-width forms, so they are kept as written. 。、「」“” are not touched by NFKC anyway.
_KEEP_WIDE = "，！？：；（）"
_KEEP_WIDE_RE = re.compile(f"([{_KEEP_WIDE}])")
_HTML_RE = re.compile(r"<\s*(?:!doctype|html|body|div|p|article|head|br|span|table)\b", re.I)
_SPACES_RE = re.compile(r"[^\S\n]+")  # whitespace other than newlines (tabs, NBSP, ideographic)
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def looks_like_html(text: str) -> bool:
    """True when the text carries HTML markup worth extracting."""
    return _HTML_RE.search(text[:4096]) is not None


def html_to_text(html: str) -> str:
    """Main text of an HTML page (trafilatura), without navigation, footers and comments."""
    import trafilatura  # imported lazily: loading it takes a second

    text = trafilatura.extract(html, include_comments=False, include_tables=True)
    return text or ""


def normalise(text: str) -> str:
    """ftfy repair, NFKC (full-width CJK punctuation kept), whitespace collapsed per line."""
    import ftfy

    # ftfy's own width fix and quote uncurling would rewrite Chinese punctuation and “quotes”.
    text = ftfy.fix_text(text, uncurl_quotes=False, fix_character_width=False)
    parts = _KEEP_WIDE_RE.split(text)  # odd indices are kept punctuation
    text = "".join(p if i % 2 else unicodedata.normalize("NFKC", p) for i, p in enumerate(parts))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES_RE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


# ---------------------------------------------------------------- boilerplate lines

# C4 line rules (Raffel et al. 2020, Sec. 2.2; the patterns of tensorflow-datasets' c4_utils):
# any line mentioning JavaScript or a terms/privacy/cookie policy is dropped, whatever its length.
_C4_LINE_RE = re.compile(
    r"javascript|terms of use|privacy policy|cookie policy|uses cookies|use of cookies|use cookies",
    re.I,
)
# Our extension for short lines only (a sentence that mentions "copyright" in passing is text):
# copyright, navigation, sharing, advertising and sign-in lines, English and Chinese.
_BOILERPLATE_RES = {
    "copyright": re.compile(
        r"copyright|all rights reserved|©|版权所有|版权归|保留所有权利|免责声明|转载请注明|"
        r"ICP备|ICP证|公网安备",
        re.I,
    ),
    "navigation": re.compile(
        r"^(?:home|menu|back to top|skip to (?:main )?content|next|previous|read more|"
        r"related (?:posts|articles))\b|上一篇|下一篇|返回顶部|返回首页|当前位置|首页\s*[>»]|"
        r"^(?:相关阅读|相关文章|推荐阅读|责任编辑)",
        re.I,
    ),
    "social": re.compile(
        r"^(?:share (?:on|this)|follow us|subscribe|sign up|newsletter)\b|点击关注|关注我们|"
        r"扫码|扫一扫|长按识别|公众号|分享到",
        re.I,
    ),
    "advertising": re.compile(r"^(?:advertisement|sponsored)\b|^广告|广告$|广告位|广告合作", re.I),
    "login": re.compile(
        r"^(?:log ?in|sign in|register)\b|^(?:登录|登陆|注册)(?:$|\s|[|/]|账号|会员)|"
        r"立即(?:登录|注册)|"
        r"免费注册|"
        r"(?:登录|注册)\s*[|/]\s*(?:登录|注册)",
        re.I,
    ),
}
BOILERPLATE_MAX_CHARS = 60  # our choice: longer lines are prose even when they match
_LINK_SEPARATORS_RE = re.compile(r"\s*[|·•»>/]\s*")


def _is_link_list(line: str) -> bool:
    # "首页 | 新闻 | 关于我们" or "Home > News > Health": three or more short items, separated.
    items = [i for i in _LINK_SEPARATORS_RE.split(line) if i]
    return len(items) >= 3 and all(len(i) <= 12 for i in items)


def boilerplate_rule(line: str) -> str | None:
    """Name the boilerplate rule a line matches, or None when it is text."""
    if _C4_LINE_RE.search(line):
        return "c4_policy_or_javascript"
    if len(line) > BOILERPLATE_MAX_CHARS:
        return None
    if _is_link_list(line):
        return "link_list"
    return next((name for name, rx in _BOILERPLATE_RES.items() if rx.search(line)), None)


def remove_boilerplate(text: str) -> tuple[str, Counter]:
    """Drop boilerplate lines; return the text left and the lines removed per rule."""
    removed: Counter = Counter()
    kept = []
    for line in text.split("\n"):
        rule = boilerplate_rule(line) if line else None
        if rule is None:
            kept.append(line)
        else:
            removed[rule] += 1
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(kept)).strip(), removed
