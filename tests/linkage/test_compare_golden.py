"""Golden pairs for graphlink.linkage.compare: hand-written tricky cases with known answers.

Each case names the rule and the band its score must fall in:

- ``match``: score >= MATCH (the same real-world value)
- ``weak``:  POSSIBLE <= score < MATCH (evidence only with corroboration)
- ``no``:    score < POSSIBLE (different values)

Both ``weak`` and ``no`` are must-not-match cases (score < MATCH).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.linkage import compare
from graphlink.linkage.compare import MATCH, POSSIBLE

RULES = {
    "name": compare.name_similarity,
    "address": compare.address_similarity,
    "email": compare.email_similarity,
    "payment": compare.payment_similarity,
    "shop": compare.shop_name_similarity,
    "company": compare.company_similarity,
}

# (id, rule, a, b, band, method or None)
GOLDEN = [
    # --- Chinese names ---------------------------------------------------------
    ("zh-trad-simp", "name", "张伟", "張偉", "match", "hanzi-exact"),
    ("zh-fullwidth-space", "name", "张　伟", "张伟", "match", "hanzi-exact"),
    ("zh-with-latin-gloss", "name", "张伟（Zhang Wei）", "張偉", "match", "hanzi-exact"),
    ("zh-honorific", "name", "王芳女士", "王芳", "match", "hanzi-exact"),
    ("zh-pinyin", "name", "张伟", "Zhang Wei", "weak", "pinyin"),
    ("zh-pinyin-reordered", "name", "张伟", "WEI ZHANG", "weak", "pinyin"),
    ("zh-pinyin-split-given", "name", "张小明", "Zhang Xiao-Ming", "weak", "pinyin"),
    ("zh-pinyin-compound-surname", "name", "欧阳娜娜", "Nana Ouyang", "weak", "pinyin"),
    ("zh-pinyin-surname-reading", "name", "单雄信", "Shan Xiongxin", "weak", "pinyin"),
    ("zh-homophone-2char", "name", "张伟", "张玮", "no", "hanzi-homophone"),
    ("zh-other-surname", "name", "张伟", "李伟", "no", "hanzi-edit"),
    ("zh-3char-one-differs", "name", "张小明", "张小敏", "weak", "hanzi-edit"),
    ("zh-different-given", "name", "张伟", "张伟明", "no", None),
    ("zh-pinyin-other-name", "name", "张伟", "Zhang Wen", "no", "pinyin-fuzzy"),
    ("zh-pinyin-other-surname", "name", "张伟", "Wang Wei", "no", "pinyin-fuzzy"),
    # --- Latin names -----------------------------------------------------------
    ("latin-nickname-typo", "name", "Jonathan Smith", "Jon Smyth", "match", "latin-fuzzy"),
    ("latin-joan-john", "name", "John Smith", "Joan Smith", "no", "latin-different"),
    ("latin-diacritics", "name", "Maria Garcia", "María García", "match", "latin-exact"),
    ("latin-reordered", "name", "Li Na", "Na Li", "match", "latin-token-sort"),
    ("latin-comma-reordered", "name", "SMITH, John", "John Smith", "match", "latin-token-sort"),
    ("latin-initial", "name", "J. Smith", "John Smith", "match", "latin-initials"),
    ("latin-initial-other", "name", "K. Smith", "John Smith", "no", "latin-different"),
    ("latin-bob", "name", "Bob Johnson", "Robert Johnson", "match", "latin-nickname"),
    ("latin-bill", "name", "Bill Gates", "William H. Gates", "match", None),
    ("latin-liz", "name", "Liz Taylor", "Elizabeth Taylor", "match", "latin-nickname"),
    ("latin-mike", "name", "Mike O'Brien", "Michael OBrien", "match", "latin-nickname"),
    ("latin-transposition", "name", "Jhon Smith", "John Smith", "match", "latin-fuzzy"),
    ("latin-title", "name", "Mr. John Smith", "john smith", "match", "latin-exact"),
    ("latin-maria-mario", "name", "Maria Garcia", "Mario Garcia", "no", "latin-different"),
    ("latin-anna-anne", "name", "Anna Lee", "Anne Lee", "no", "latin-different"),
    ("latin-pinyin-syllable", "name", "Wei Zhang", "Wen Zhang", "no", "latin-different"),
    ("latin-pinyin-given", "name", "Zhang Xiaoming", "Zhang Xiaomin", "no", "latin-different"),
    ("latin-glued-given", "name", "Zhang Xiaoming", "Zhang Xiao Ming", "match", None),
    ("latin-surname-only", "name", "John Smith", "Smith", "weak", "latin-partial"),
    ("latin-other-surname", "name", "Robert Smith", "Robert Jones", "no", "latin-different"),
    ("company-branch-city", "name", "星辰贸易（杭州）有限公司", "星辰貿易有限公司", "match", None),
    # --- addresses -------------------------------------------------------------
    ("addr-neighbour-room", "address", "杭州市余杭区文一西路998号5号楼302室",
     "浙江省杭州市余杭区文一西路998号五幢303室", "match", "same-building-neighbour-room"),
    ("addr-other-number", "address", "杭州市余杭区文一西路998号5号楼302室", "文一西路999号",
     "no", "address-fuzzy"),
    ("addr-province-dropped", "address", "浙江省杭州市余杭区文一西路998号",
     "杭州余杭区文一西路九九八号", "match", "same-address"),
    ("addr-city-dropped", "address", "杭州市余杭区文一西路998号5号楼302室",
     "余杭区文一西路998号5栋302", "match", "same-room"),
    ("addr-other-floor-same-building", "address", "杭州市余杭区文一西路998号5号楼302室",
     "杭州市余杭区文一西路998号5号楼1508室", "match", "same-building"),
    ("addr-other-building", "address", "杭州市余杭区文一西路998号5号楼302室",
     "杭州市余杭区文一西路998号6号楼302室", "weak", "same-place"),
    ("addr-other-district", "address", "杭州市余杭区文一西路998号",
     "杭州市西湖区文一西路998号", "no", "address-fuzzy"),
    ("addr-traditional", "address", "深圳市南山區科技園南區五棟", "深圳市南山区科技园南区5栋",
     "match", "same-address"),
    ("addr-beijing-compound", "address", "北京市朝阳区建国路88号院3号楼",
     "北京朝阳区建国路88号3栋", "match", "same-address"),
    ("addr-latin-flat-unit", "address", "12 Harbour Road, Flat 5B", "12 Harbour Rd., Unit 5B",
     "match", "same-address"),
    ("addr-latin-other-number", "address", "12 Harbour Rd", "14 Harbour Rd", "no",
     "address-fuzzy"),
    ("addr-latin-reordered", "address", "Flat 5B, 12 Harbour Road, Wan Chai, Hong Kong",
     "12 Harbour Rd, Flat 5C, Wanchai", "match", "same-building-neighbour-room"),
    ("addr-latin-other-area", "address", "12 Harbour Rd, Kowloon", "12 Harbour Rd, Wan Chai",
     "no", "address-fuzzy"),
    ("addr-latin-block", "address", "8 Kwun Tong Rd, Block A, 5/F", "8 Kwun Tong Road Blk B",
     "weak", "same-place"),
    ("addr-script-mismatch", "address", "文一西路998号", "998 Wenyi West Road", "no", None),
    # --- emails ----------------------------------------------------------------
    ("email-plus-case", "email", "Zhang.Wei+shop@QQ.com", "zhang.wei@qq.com", "match",
     "same-email"),
    ("email-gmail-dots", "email", "j.o.h.n.smith@gmail.com", "johnsmith+ebay@googlemail.com",
     "match", "same-email"),
    ("email-skeleton", "email", "zhang.wei88@qq.com", "zhangwei2024@163.com", "match",
     "email-skeleton"),
    ("email-short-skeleton", "email", "lina88@qq.com", "li.na@163.com", "weak", "email-skeleton"),
    ("email-qq-numbers", "email", "12345678@qq.com", "12399999@qq.com", "no", "email-different"),
    ("email-qq-one-digit", "email", "12345678@qq.com", "12345679@qq.com", "weak", "email-fuzzy"),
    ("email-other-name", "email", "zhangwei@qq.com", "zhangwen@qq.com", "no", "email-fuzzy"),
    ("email-role", "email", "sales@acme.com", "sales@globex.com", "no", "email-role"),
    # --- payments --------------------------------------------------------------
    ("pay-masked-full", "payment", "6222****1234", "6222021234567891234", "weak",
     "masked-prefix-suffix"),
    ("pay-masked-other-last4", "payment", "6222****1234", "6222****4321", "no",
     "different-payment"),
    ("pay-full-exact", "payment", "6222 0212 3456 7891 234", "6222021234567891234", "match",
     "same-payment"),
    ("pay-full-other", "payment", "6222021234567891234", "6222021234567891235", "no",
     "different-payment"),
    ("pay-masked-bin6", "payment", "622202******1234", "6222 **** **** 1234", "weak",
     "masked-prefix-suffix"),
    ("pay-last4-only", "payment", "****1234", "6222021234567891234", "no", "masked-partial"),
    ("pay-other-bin", "payment", "6228****1234", "6222021234567891234", "no",
     "different-payment"),
    ("pay-alipay-case", "payment", "ZhangWei@Alipay.com", "zhangwei@alipay.com", "match",
     "same-payment"),
    # --- shops -----------------------------------------------------------------
    ("shop-suffixes", "shop", "耐克官方旗舰店", "耐克专卖店", "match", "shop-exact"),
    ("shop-latin-typo", "shop", "Sneaker World Store", "Sneaker Wrld", "match", "shop-fuzzy"),
    ("shop-brand-only", "shop", "耐克运动", "耐克", "no", None),
    ("shop-one-char", "shop", "星辰潮牌", "星晨潮牌", "no", "shop-fuzzy"),
    ("shop-contains", "shop", "Nike Outlet", "Nike Factory Outlet", "weak", "shop-contains"),
]


def _band(score: float) -> str:
    return "match" if score >= MATCH else "weak" if score >= POSSIBLE else "no"


@pytest.mark.parametrize("rule, a, b, band, method", [g[1:] for g in GOLDEN],
                         ids=[g[0] for g in GOLDEN])
def test_golden_pair(rule, a, b, band, method):
    sim = RULES[rule](a, b)
    assert 0.0 <= sim.score <= 1.0
    assert _band(sim.score) == band, sim
    if method is not None:
        assert sim.method == method, sim


@pytest.mark.parametrize("rule, a, b", [g[1:4] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_symmetric(rule, a, b):
    assert RULES[rule](a, b).score == RULES[rule](b, a).score


def test_enough_golden_pairs():
    assert len(GOLDEN) >= 50
    assert {g[4] for g in GOLDEN} == {"match", "weak", "no"}


def test_pinyin_is_weaker_than_hanzi():
    hanzi = compare.name_similarity("张伟", "張偉")
    pinyin = compare.name_similarity("张伟", "Zhang Wei")
    assert pinyin.score < hanzi.score and pinyin.score <= compare.PINYIN_CAP


def test_missing_values_score_zero():
    for rule in RULES.values():
        assert rule(None, "x").score == 0.0
        assert rule("", None).method == "missing"


# --------------------------------------------------------------------------
# properties over hostile input (the golden pairs above pin the behaviour)
# --------------------------------------------------------------------------

_PIECES = ["张伟", "張偉", "Zhang", "Wei", "John", "Jon", "Smith", "J.", "有限公司", "店", "杭州市",
           "余杭区", "文一西路", "998号", "5号楼", "302室", "Flat 5B", "12", "Harbour Rd", "@",
           "qq.com", "6222", "****", "1234", " ", "-", "（", "）", "\x00", "é"]
_texts = st.one_of(st.none(), st.text(max_size=40),
                   st.lists(st.sampled_from(_PIECES), max_size=8).map("".join))


@settings(max_examples=200, deadline=None)
@given(rule=st.sampled_from(sorted(RULES)), a=_texts, b=_texts)
def test_rules_are_total_bounded_and_symmetric(rule, a, b):
    ab, ba = RULES[rule](a, b), RULES[rule](b, a)
    assert isinstance(ab, compare.Similarity) and 0.0 <= ab.score <= 1.0
    assert ab.score == ba.score


@settings(max_examples=200, deadline=None)
@given(rule=st.sampled_from(["name", "address", "email", "shop", "company"]), a=_texts)
def test_a_value_is_identical_to_itself(rule, a):
    sim = RULES[rule](a, a)
    assert sim.score == 1.0 or sim.method == "missing"


_HANZI = st.lists(st.sampled_from(list("张章王汪李伟玮卫小晓明敏华欧阳司马公司厂店")), min_size=1,
                  max_size=8).map("".join)


@settings(max_examples=400, deadline=None)
@given(a=st.one_of(_HANZI, _texts), b=st.one_of(_HANZI, _texts))
def test_names_may_match_rules_out_only_pairs_below_possible(a, b):
    """Linkage skips the name rule where names_may_match says no: it must never hide a link."""
    if not compare.names_may_match(a, b):
        assert compare.name_similarity(a, b).score < POSSIBLE
    assert compare.names_may_match(a, b) == compare.names_may_match(b, a)
