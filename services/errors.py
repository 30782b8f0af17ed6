"""Domain errors: each says in Chinese what the user can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a page shows to the user instead of a traceback."""


class OutOfScopeError(DomainError):
    def __init__(self, area_code: str) -> None:
        super().__init__(f"无权查看区域 {area_code}")
        self.area_code = area_code


class UnknownAreaError(DomainError):
    def __init__(self, area_code: str) -> None:
        super().__init__(f"区域编码 {area_code} 不存在")
        self.area_code = area_code


class InvalidArgumentError(DomainError):
    pass
