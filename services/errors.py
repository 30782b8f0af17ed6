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


class UnknownItemError(DomainError):
    def __init__(self, kind: str, item_id: str) -> None:
        super().__init__(f"{kind} {item_id} 不存在或不在您的管辖范围内")


class TransitionNotAllowedError(DomainError):
    """The action is not allowed from the incident's current state."""


class StaleIncidentError(DomainError):
    """Someone else changed the incident since the caller read it."""


class MissingInputError(DomainError):
    """A required note, photo, reason or choice is missing or unusable."""


class PointOutsideGridsError(DomainError):
    pass


class NotAcceptedCategoryError(DomainError):
    pass


class StoreError(DomainError):
    """The database refused or failed an operation; nothing of it was written (the store layer
    turns every driver error into one of these, see `services.store.engine`)."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached just now, or stays busy (a live page keeps showing its last
    figures; every page shows a notice and retries)."""


class StoreConflictError(StoreError):
    """A key or constraint refused a write: someone else wrote the same thing at the same time."""


class PermissionDeniedError(DomainError):
    """The caller's role may not do this."""


class SignInError(DomainError):
    """Sign-in refused: wrong name or password, a disabled account, or too many attempts."""


class SessionExpiredError(DomainError):
    """The signed-in session has run out (idle too long, or past its lifetime) or was ended."""


class InvalidFieldError(InvalidArgumentError):
    """One named field of a request or a file is missing or unusable (the Open311 edge answers 400
    naming it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}：{message}")
        self.field = field
