"""Personal data on screen: who may see what, and masking for everyone else (DESIGN.md
Household: names, phones and ID numbers are masked unless the viewer's role allows them;
key-person tags are shown only to roles cleared for them)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from services.domain import KEY_PERSON_TAGS, SERVICE_TAGS

# Special groups (特殊人群) are the service tags that call for care; 党员户 and 退役军人 are not.
SPECIAL_GROUP_TAGS = ("独居老人", "留守儿童", "残疾人", "低保户", "特困供养")


@dataclasses.dataclass(frozen=True)
class Clearance:
    personal_data: bool  # sees names and phone numbers unmasked
    key_persons: bool  # sees GB/T 31000 key-person tags

    def visible_tags(self) -> tuple[str, ...]:
        return SERVICE_TAGS + (KEY_PERSON_TAGS if self.key_persons else ())

    def highlighted_tags(self) -> tuple[str, ...]:
        return SPECIAL_GROUP_TAGS + (KEY_PERSON_TAGS if self.key_persons else ())


def mask_names(names: pd.Series) -> pd.Series:
    """张三丰 → 张**, 李四 → 李*: the surname stays, so a cadre can still tell households apart."""
    return names.fillna("").astype(str).map(lambda name: name[:1] + "*" * max(len(name) - 1, 0)).astype(str)


def mask_phones(phones: pd.Series) -> pd.Series:
    """13812345678 → 138****5678 (the national practice for receipts and notices)."""
    text = phones.fillna("").astype(str)
    long_enough = text.str.len() >= 7
    return text.where(~long_enough, text.str[:3] + "****" + text.str[-4:]).where(long_enough, "****")


def shown_names(names: pd.Series, clearance: Clearance) -> pd.Series:
    return names.fillna("").astype(str) if clearance.personal_data else mask_names(names)


def shown_phones(phones: pd.Series, clearance: Clearance) -> pd.Series:
    return phones.fillna("").astype(str) if clearance.personal_data else mask_phones(phones)


def mask_emails(emails: pd.Series) -> pd.Series:
    """zhangsan@example.com → z***@example.com: the domain stays (which system it came from)."""

    def mask(email: str) -> str:
        name, at, host = email.partition("@")
        return f"{name[:1]}***@{host}" if at else ("***" if name else "")

    return emails.fillna("").astype(str).map(mask).astype(str)


def mask_id_numbers(numbers: pd.Series) -> pd.Series:
    """130532198003150012 → 130532********0012: the area part stays, the birth date goes."""
    text = numbers.fillna("").astype(str)
    return text.where(text.str.len() < 15, text.str[:6] + "*" * 8 + text.str[-4:]).where(text.str.len() >= 15, "")


def shown_id_numbers(numbers: pd.Series, clearance: Clearance) -> pd.Series:
    return numbers.fillna("").astype(str) if clearance.personal_data else mask_id_numbers(numbers)
