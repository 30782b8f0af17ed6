"""Who may see and do what: the roles of DESIGN.md's users, each bound to an area, and the acting
user every service takes.

Roles follow the separation of duties of 等级保护 (三员分立): the county admin manages accounts,
imports and reads the audit log, but neither works cases nor reads residents' personal data; the
people who work cases can unmask personal data one household at a time, on the record.
"""

from __future__ import annotations

import dataclasses
import os

from services.access.privacy import Clearance
from services.access.scope import Scope
from services.domain import ACTION_NAMES, CODE_LENGTHS
from services.errors import PermissionDeniedError

# Roles of the app's users (who may sign in and do what); grid staff's posts are another thing,
# services.domain.WORKER_ROLE_NAMES.
USER_ROLE_NAMES = {
    "county_admin": "县级管理员",
    "county_operator": "县指挥中心值班员",
    "township_leader": "乡镇领导",
    "grid_supervisor": "网格督导员",
    "viewer": "只读用户",
}
USER_ROLES = tuple(USER_ROLE_NAMES)
# A wall screen signs in as an account of its own, with a long-lived screen session an admin
# issues (services.access.sessions): it may only look at the 指挥大屏 of its area.
SCREEN_ROLE = "wall_screen"
ROLE_NAMES = {**USER_ROLE_NAMES, SCREEN_ROLE: "指挥大屏"}
# The level of area each role is bound to (a grid supervisor holds one or more grids).
USER_ROLE_AREA_LEVELS = {
    "county_admin": ("county",),
    "county_operator": ("county",),
    "township_leader": ("township",),
    "grid_supervisor": ("grid", "village"),
    "viewer": ("county", "township", "village", "grid"),
    SCREEN_ROLE: ("county", "township", "village", "grid"),
}

CASE_WORKERS = frozenset({"county_operator", "township_leader", "grid_supervisor"})
LEADERS = frozenset({"county_operator", "township_leader"})

# Workflow actions and the roles that may take them.  吹哨报到 and closing a case without fixing
# it are a leader's call; everything else is everyday work of whoever holds the case's grid.
ACTION_ROLES: dict[str, frozenset[str]] = {
    "report": CASE_WORKERS,
    "validate": CASE_WORKERS,
    "reject": CASE_WORKERS,
    "dispatch": CASE_WORKERS,
    "call_department": LEADERS,
    "accept": CASE_WORKERS,
    "handle": CASE_WORKERS,
    "verify": CASE_WORKERS,
    "reopen": CASE_WORKERS,
    "close": LEADERS,
    "mark_duplicate": CASE_WORKERS,
    "escalate": CASE_WORKERS,
}

PERMISSION_ROLES: dict[str, frozenset[str]] = {
    "browse": frozenset(USER_ROLES),  # the map, lists, figures: every page but the wall screen
    "manage_screens": frozenset({"county_admin"}),
    "unmask_personal_data": CASE_WORKERS,
    "see_key_persons": LEADERS,  # GB/T 31000 key-person tags: county command centre and township leaders
    "import_data": frozenset({"county_admin", "county_operator"}),
    "manage_users": frozenset({"county_admin"}),
    "read_audit": frozenset({"county_admin"}),
    # Issuing a 月报 / 周报 is an official act of whoever answers for the area (within their own
    # areas); a viewer reads and downloads reports but does not issue them.
    "issue_report": frozenset({"county_admin", "county_operator", "township_leader", "grid_supervisor"}),
    # 网格员月度考核 (issue 16): the county admin keeps the rule table; whoever supervises the grids
    # awards points and decides 问题回溯 candidates there.
    "edit_assessment_rules": frozenset({"county_admin"}),
    "award_points": CASE_WORKERS,
    "decide_misses": CASE_WORKERS,
    # Publishing a finished month's scores (the wall screen's ranking) speaks for the whole county.
    "publish_assessment": frozenset({"county_admin", "county_operator"}),
    # Keys of the intake API (issue 17) are accounts of other systems: the county admin's.
    "manage_intake": frozenset({"county_admin"}),
    **{f"workflow:{action}": roles for action, roles in ACTION_ROLES.items()},
}
PERMISSION_NAMES = {
    "browse": "浏览地图与报表",
    "manage_screens": "发放大屏会话",
    "unmask_personal_data": "查看完整个人信息",
    "see_key_persons": "查看重点人员标签",
    "import_data": "导入导出数据",
    "manage_users": "管理用户",
    "read_audit": "查阅审计日志",
    "issue_report": "签发报表",
    "edit_assessment_rules": "修改考核规则",
    "award_points": "考核加分",
    "publish_assessment": "发布月度考核",
    "decide_misses": "认定应报未报",
    "manage_intake": "管理接入密钥",
    **{f"workflow:{action}": name for action, name in ACTION_NAMES.items()},
}


@dataclasses.dataclass(frozen=True)
class Actor:
    """The signed-in user on whose behalf a service runs: who (recorded in events and the audit
    log), in which role, over which areas (codes of whole areas of one county)."""

    username: str
    display_name: str
    role: str
    county_code: str
    area_codes: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.role not in ROLE_NAMES:
            raise ValueError(f"unknown role {self.role!r}")
        if not self.area_codes or not all(code.startswith(self.county_code) for code in self.area_codes):
            raise ValueError(f"{self.username}: areas {self.area_codes} are not inside county {self.county_code}")

    @property
    def label(self) -> str:
        return f"{self.display_name}（{self.username}）"

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]

    @property
    def scope(self) -> Scope:
        return Scope(self.county_code, self.area_codes)

    @property
    def home_area(self) -> str:
        """Where the map and the lists open: the user's area, or the smallest area holding all of
        them (a supervisor's village), of which the user sees only their own part."""
        common = os.path.commonprefix(list(self.area_codes))
        return max((common[:n] for n in CODE_LENGTHS.values() if n <= len(common)), key=len)

    @property
    def clearance(self) -> Clearance:
        """What the user sees by default: personal data masked, key-person tags if cleared."""
        return Clearance(personal_data=False, key_persons=self.may("see_key_persons"))

    def may(self, permission: str) -> bool:
        return self.role in PERMISSION_ROLES[permission]

    def may_act(self, action: str) -> bool:
        return self.may(f"workflow:{action}")

    def require(self, permission: str) -> None:
        if not self.may(permission):
            raise PermissionDeniedError(f"{self.role_name}无权{PERMISSION_NAMES[permission]}")
