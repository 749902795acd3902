"""Money as `Decimal`, never float: parsed from text (or an int) exactly, stored as text,
rounded once per reported line to 0.01 yuan, half up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from workbench.errors import InputError

CENT = Decimal("0.01")
MAX_DIGITS = 18  # a price or revenue with more digits than this is a typo, not money


def parse_decimal(value: object, what: str) -> Decimal:
    """`value` (text, int, Decimal, or a float from a spreadsheet cell) as a finite Decimal.
    A float is read through its shortest repr (12.34, not 12.339999…), the number the
    spreadsheet showed. Thousands separators and a leading ¥ are accepted."""
    if isinstance(value, bool):
        raise InputError(f"{what}不是数字：{value!r}")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value).strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
        if not text:
            raise InputError(f"{what}是空的")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise InputError(f"{what}不是数字：{str(value)[:40]!r}") from None
    if not number.is_finite() or len(number.as_tuple().digits) > MAX_DIGITS:
        raise InputError(f"{what}不是有效的金额：{str(value)[:40]!r}")
    return number


def parse_price(value: object, what: str = "单价") -> Decimal:
    """A unit price in yuan: greater than 0."""
    number = parse_decimal(value, what)
    if number <= 0:
        raise InputError(f"{what}必须大于 0（收到 {value}）")
    return number


def parse_share(value: object, what: str = "分成比例") -> Decimal:
    """A revenue share: in (0, 1]; "30%" means 0.30."""
    text = str(value).strip() if not isinstance(value, Decimal) else value
    percent = isinstance(text, str) and text.endswith(("%", "％"))
    number = parse_decimal(text[:-1] if percent else text, what)
    if percent:
        number = number.scaleb(-2)  # 30% → 0.30, exactly
    if not 0 < number <= 1:
        raise InputError(f"{what}应在 0 到 1 之间（不含 0，可写 0.30 或 30%），收到 {value}")
    return number


def parse_amount(value: object, what: str = "金额") -> Decimal:
    """An amount of money that may be zero but not negative (revenue, a postback's amount)."""
    number = parse_decimal(value, what)
    if number < 0:
        raise InputError(f"{what}不能是负数（收到 {value}）")
    return number


def to_text(value: Decimal | None) -> str | None:
    """As stored: the exact digits, without exponent notation."""
    return None if value is None else format(value, "f")


def from_text(value: str | None) -> Decimal | None:
    return None if value in (None, "") else Decimal(value)


def yuan(value: Decimal) -> Decimal:
    """Rounded to 0.01 yuan, half up (once per reported line)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def yuan_text(value: Decimal) -> str:
    """"756.00": what reports print."""
    return format(yuan(value), "f")
