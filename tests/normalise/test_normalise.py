"""Contract tests for graphlink.normalise: total, idempotent, and right on known cases."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphlink import normalise as norm

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------
# strategies: hostile text of every kind
# --------------------------------------------------------------------------

ADDRESS_CHARS = list(
    "省市区县镇路街道号院栋幢座楼单元室房层户弄巷一二三四五六七八九十百零〇两"
    "0123456789-#/ ,.（）()【】abAB杭州余杭浙江北京上海中国文西"
) + ["Room", "Flat", "Unit", "Apt", "Bldg", "Floor", "/F", "Road", "Rd", "St", "No."]
NAME_CHARS = list("张伟張偉王芳李娜欧阳单曾·. -'JohnSmithMaríaGarcíaLiNaMr先生") + ["\u3000"]
PHONE_CHARS = list("0123456789+-() ０１２３４５６７８９ext#/,转x") + ["0086", "86", "(+86)"]
CARD_CHARS = list("0123456789*xX•● -#.@abc")

hostile = st.one_of(
    st.none(),
    st.text(),  # any code point but surrogates, NUL included
    st.text(alphabet=st.characters(min_codepoint=0x3000, max_codepoint=0x9FFF)),
    st.text(alphabet=st.characters(min_codepoint=0xF900, max_codepoint=0xFFEF)),
    st.text(alphabet=st.characters(codec="ascii")),
    st.lists(st.sampled_from(ADDRESS_CHARS), max_size=30).map("".join),
    st.lists(st.sampled_from(NAME_CHARS), max_size=20).map("".join),
    st.lists(st.sampled_from(PHONE_CHARS), max_size=25).map("".join),
    st.lists(st.sampled_from(CARD_CHARS), max_size=25).map("".join),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=8), st.integers(500, 5000)),
    st.text().map(lambda s: "\x00" + s + "\x00"),
)
# values a DataFrame cell can hold besides text
cells = st.one_of(hostile, st.integers(), st.floats(), st.binary(max_size=40), st.booleans())

STRING_NORMALISERS = {
    "phone": norm.phone,
    "email": norm.email,
    "email_skeleton": norm.email_skeleton,
    "person_name": norm.person_name,
    "name_pinyin": norm.name_pinyin,
    "company_name": norm.company_name,
    "shop_name": norm.shop_name,
    "device": norm.device,
    "ip": norm.ip,
    "ip_block": norm.ip_block,
    "plain_text": norm.plain_text,
}
RECORD_NORMALISERS = {
    "address": (norm.address, lambda r: r.canonical),
    "id_number": (norm.id_number, lambda r: r.value),
    "payment": (norm.payment, lambda r: r.value),
}

# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(STRING_NORMALISERS))
@SETTINGS
@given(raw=cells)
def test_string_normaliser_total_and_idempotent(name, raw):
    f = STRING_NORMALISERS[name]
    out = f(raw)
    assert out is None or (isinstance(out, str) and out)
    if out is not None:
        assert f(out) == out


@pytest.mark.parametrize("name", sorted(RECORD_NORMALISERS))
@SETTINGS
@given(raw=cells)
def test_record_normaliser_total_and_idempotent(name, raw):
    f, canonical = RECORD_NORMALISERS[name]
    out = f(raw)
    if out is not None:
        assert canonical(out)
        assert f(canonical(out)) == out


@SETTINGS
@given(raw=hostile, region=st.sampled_from(["CN", "GB", "US", "MY", "cn", "XX", ""]))
def test_phone_any_region(raw, region):
    out = norm.phone(raw, region)
    assert out is None or norm.phone(out, region) == out


@SETTINGS
@given(raw=hostile)
def test_address_fields_are_consistent(raw):
    a = norm.address(raw)
    if a is None:
        return
    assert a.place and a.canonical.startswith(a.place)
    assert a.script in ("zh", "latin")
    if a.script == "zh":
        assert a.place == a.locality + a.street
    else:
        assert a.place == " ".join(filter(None, (a.street, a.locality)))


@SETTINGS
@given(raw=hostile)
def test_name_pinyin_is_sorted_ascii_for_hanzi(raw):
    key = norm.name_pinyin(raw)
    if key is not None:
        assert key.split() == sorted(key.split())
        if norm.has_hanzi(norm.person_name(raw)):
            assert key.isascii()


@SETTINGS
@given(raw=cells)
def test_pinyin_is_total_and_ascii(raw):
    out = norm.pinyin(raw)
    assert out == "" or (out.isascii() and out.isalpha())


@SETTINGS
@given(digits=st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_resident_id_round_trip(digits):
    value = digits + norm.resident_id_check(digits)
    parsed = norm.id_number(value)
    assert parsed.value == value and parsed.checksum_ok is True


@SETTINGS
@given(body=st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=17, max_size=17))
def test_uscc_check_matches_reference(body):
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(alphabet.index(c) * w for c, w in zip(body, weights, strict=True))
    reference = alphabet[(31 - total % 31) % 31]
    assert norm.uscc_check(body) == reference


@SETTINGS
@given(number=st.text(alphabet="0123456789", min_size=12, max_size=19))
def test_masked_card_shares_key_with_full(number):
    full = norm.payment(number)
    masked = norm.payment(f"{number[:4]}****{number[-4:]}")
    assert masked.masked and not full.masked
    assert norm.payment_key(full) == norm.payment_key(masked)


def test_long_input_is_fast_enough():
    big = "浙江省杭州市余杭区文一西路998号" * 20_000 + "\x00"
    for f in (*STRING_NORMALISERS.values(), norm.address, norm.id_number, norm.payment):
        f(big)


# --------------------------------------------------------------------------
# targeted examples
# --------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("+86 138-0013-8000", "+8613800138000"),
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("(+86)13800138000", "+8613800138000"),
    ("0086-138-0013-8000", "+8613800138000"),
    ("86 13800138000", "+8613800138000"),
    ("＋８６ １３８００１３８０００", "+8613800138000"),
    ("+86 138-0013-8000 ext 12", "+8613800138000"),
    ("13800138000 / 13900139000", "+8613800138000"),
    ("0571-8888 8888", "+8657188888888"),
    ("+44 (0)20 7946 0958", "+442079460958"),
    ("+1 (415) 555-2671", "+14155552671"),
    ("+60 12-345 6789", "+60123456789"),
    (13800138000.0, "+8613800138000"),
    ("12345", "12345"),
    ("1234", None),
    ("no phone", None),
    ("", None),
    ("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
], ids=lambda v: repr(v)[:24])
def test_phone_examples(raw, expected):
    assert norm.phone(raw) == expected


def test_phone_other_region():
    assert norm.phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize("raw, canonical, skeleton", [
    ("Zhang.Wei88+shop@qq.com", "zhang.wei88@qq.com", "zhangwei"),
    ("ZHANG.WEI@Gmail.com", "zhangwei@gmail.com", "zhangwei"),
    ("zhang.wei+x@googlemail.com", "zhangwei@gmail.com", "zhangwei"),
    ("<mailto:Li_Na-1990@163.com>", "li_na-1990@163.com", "lina"),
    ("lina＠163．com", "lina@163.com", "lina"),
    ("12345678@qq.com", "12345678@qq.com", None),
    ("no-at-sign.com", None, "noatsigncom"),
    ("@qq.com", None, None),
], ids=lambda v: repr(v)[:20])
def test_email_examples(raw, canonical, skeleton):
    assert norm.email(raw) == canonical
    assert norm.email_skeleton(raw) == skeleton


@pytest.mark.parametrize("raw, expected", [
    ("張偉", "张伟"), ("张 伟", "张伟"), ("ＺＨＡＮＧ　Ｗｅｉ", "zhang wei"),
    ("María José García-López", "maria jose garcia lopez"), ("Dr. John SMITH", "john smith"),
    ("O'Connor, Seán", "oconnor sean"), ("王小姐", "王"), ("Łukasz Żółć", "lukasz zolc"),
    ("\x00\u200b", None), ("   ", None),
])
def test_person_name_examples(raw, expected):
    assert norm.person_name(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("张伟", "wei zhang"), ("Zhang Wei", "wei zhang"), ("WEI ZHANG", "wei zhang"),
    ("張偉", "wei zhang"), ("欧阳娜娜", "nana ouyang"), ("曾小贤", "xiaoxian zeng"),
    ("吕布", "bu lu"), ("Li Na", "li na"), ("Na Li", "li na"),
])
def test_name_pinyin_examples(raw, expected):
    assert norm.name_pinyin(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("杭州星辰贸易有限公司", "杭州星辰贸易"), ("星辰貿易（杭州）有限公司", "星辰贸易"),
    ("星辰贸易股份有限公司", "星辰贸易"), ("Acme Trading Co., Ltd.", "acme trading"),
    ("ACME LLC", "acme"), ("Limited", "limited"),
])
def test_company_name_examples(raw, expected):
    assert norm.company_name(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("耐克官方旗舰店", "耐克"), ("耐克专卖店", "耐克"), ("【正品保障】阿迪达斯专营店", "阿迪达斯"),
    ("Nike Official Store", "nike"), ("Nike潮牌店", "nike潮牌"), ("店", "店"),
    ("The Sneaker Shop", "sneaker"),
])
def test_shop_name_examples(raw, expected):
    assert norm.shop_name(raw) == expected


@pytest.mark.parametrize("raw, place, building, room", [
    ("浙江省杭州市余杭区文一西路998号5号楼302室", "杭州余杭区文一西路998号", "5", "302"),
    ("杭州余杭区文一西路998号五幢303室", "杭州余杭区文一西路998号", "5", "303"),
    ("杭州市余杭区文一西路九九八号5栋3单元302", "杭州余杭区文一西路998号", "5", "3-302"),
    ("杭州市余杭区文一西路998号5-302", "杭州余杭区文一西路998号", "5", "302"),
    ("杭州市余杭区文一西路998号A座12层", "杭州余杭区文一西路998号", "a", "12f"),
    ("杭州市余杭区文一西路998号十二号楼", "杭州余杭区文一西路998号", "12", None),
    ("上海市浦东新区张江路100弄5号302室", "浦东新区张江路100弄5号", None, "302"),
    ("上海路100号", "上海路100号", None, None),
    ("北京市朝阳区建国路88号院3号楼", "朝阳区建国路88号", "3", None),
    ("廣東省深圳市南山區科技園南區5棟", "深圳南山区科技园南区", "5", None),
    ("文一西路998号 Room 302", "文一西路998号", None, "302"),
    ("12 Harbour Road, Flat 5B", "12 harbour rd", None, "5b"),
    ("Flat 5B, 12 Harbour Rd.", "12 harbour rd", None, "5b"),
    ("Apt. 3, No. 12 Main Street", "12 main st", None, "3"),
    ("5/F, Block A, 8 Kwun Tong Road", "8 kwun tong rd", "a", "5f"),
    ("Suite #210, 1600 Amphitheatre Pkwy, Building 40", "1600 amphitheatre pkwy", "40", "210"),
    ("3rd Floor, 221B Baker Street", "221b baker st", None, "3f"),
], ids=lambda v: str(v)[:18])
def test_address_examples(raw, place, building, room):
    a = norm.address(raw)
    assert (a.place, a.building, a.room) == (place, building, room)


def test_address_place_is_stable_across_reformatting():
    forms = ["浙江省杭州市余杭区文一西路998号", "杭州余杭区文一西路998号",
             "浙江杭州余杭区文一西路998号", "中国浙江省杭州市余杭区文一西路九九八号",
             "杭州市 余杭区 文一西路 998 号"]
    assert len({norm.address(f).place for f in forms}) == 1


@pytest.mark.parametrize("raw, value, kind, ok", [
    ("11010519491231002X", "11010519491231002X", "resident_id", True),
    ("11010519491231002x", "11010519491231002X", "resident_id", True),
    ("110101199003074514", "110101199003074514", "resident_id", True),
    ("440301199001011234", "440301199001011234", "resident_id", True),
    ("440301199001011235", "440301199001011235", "resident_id", False),
    ("4403 0119 9001 0112 34", "440301199001011234", "resident_id", True),
    ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43", "uscc", True),
    ("91350100-M000100Y44", "91350100M000100Y44", "uscc", False),
    ("E12345678", "E12345678", "other", None),
    ("DEADBEEF" * 8, "deadbeef" * 8, "hashed", None),
])
def test_id_number_examples(raw, value, kind, ok):
    parsed = norm.id_number(raw)
    assert (parsed.value, parsed.kind, parsed.checksum_ok) == (value, kind, ok)


@pytest.mark.parametrize("raw, expected", [
    ("{ABC-123}", "abc-123"), ("  Dev 42  ", "dev 42"), ("null", None),
    ("{00000000-0000-0000-0000-000000000000}", None), ("", None),
])
def test_device_examples(raw, expected):
    assert norm.device(raw) == expected


@pytest.mark.parametrize("raw, canonical, block", [
    ("10.1.2.3", "10.1.2.3", "10.1.2.0/24"),
    (" 010.001.002.003 ", "10.1.2.3", "10.1.2.0/24"),
    ("10.1.2.3:443", "10.1.2.3", "10.1.2.0/24"),
    ("[2001:DB8::1]:443", "2001:db8::1", "2001:db8::/48"),
    ("fe80::1%eth0", "fe80::1", "fe80::/48"),
    ("::ffff:10.1.2.3", "10.1.2.3", "10.1.2.0/24"),
    ("256.1.1.1", None, None), ("::", None, None), ("localhost", None, None),
])
def test_ip_examples(raw, canonical, block):
    assert norm.ip(raw) == canonical
    assert norm.ip_block(raw) == block


@pytest.mark.parametrize("raw, value, masked, prefix, suffix", [
    ("6222****1234", "6222*1234", True, "6222", "1234"),
    ("6222 **** **** 1234", "6222*1234", True, "6222", "1234"),
    ("622202******1234", "622202*1234", True, "622202", "1234"),
    ("6222-XXXX-XXXX-1234", "6222*1234", True, "6222", "1234"),
    ("****1234", "*1234", True, None, "1234"),
    ("6222 0212 3456 7891 234", "6222021234567891234", False, "622202", "1234"),
    ("138****8000", "138*8000", True, "138", "8000"),
    ("Zhang.Wei@Alipay.com", "zhang.wei@alipay.com", False, None, None),
    ("zha***@qq.com", "zha*@qq.com", True, "zha", "@qq.com"),
], ids=lambda v: str(v)[:20])
def test_payment_examples(raw, value, masked, prefix, suffix):
    p = norm.payment(raw)
    assert (p.value, p.masked, p.prefix, p.suffix) == (value, masked, prefix, suffix)


def test_payment_hash_and_empty():
    h = norm.payment("A" * 64)
    assert h.hashed and h.value == "a" * 64 and norm.payment_key(h) is None
    assert norm.payment("****") is None and norm.payment(None) is None


@SETTINGS
@given(prefix=st.sampled_from(["", "+86", "86", "0086", "+86 ", "86-", "(+86)"]),
       digits=st.text(alphabet="0123456789", min_size=10, max_size=10),
       first=st.sampled_from("123456789"))
def test_chinese_mobile_fast_path_is_libphonenumbers_answer(prefix, digits, first):
    raw = prefix + "1" + first + digits[1:]
    cleaned = norm.phones._phone_clean(raw)
    assert norm.phones._phone(raw, "CN") == norm.phones._phone_slow(cleaned, "CN")


@given(octets=st.lists(st.integers(0, 300), min_size=4, max_size=4),
       zeros=st.lists(st.booleans(), min_size=4, max_size=4))
def test_ip_block_of_dotted_quads_agrees_with_the_ip_parser(octets, zeros):
    """ip_block reads canonical IPv4 text without the ipaddress parser: same answer."""
    import ipaddress

    raw = ".".join(f"0{o}" if z else str(o) for o, z in zip(octets, zeros, strict=True))
    canonical = norm.ip(raw)
    expected = (None if canonical is None else
                str(ipaddress.ip_network(f"{canonical}/24", strict=False)))
    assert norm.ip_block(raw) == expected
