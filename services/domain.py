"""Vocabulary of the domain (DESIGN.md glossary): levels, states, tags, categories, limits."""

from __future__ import annotations

import datetime as dt

import pandas as pd

# China has one zone and no daylight saving: a fixed offset is exact and needs no tz database.
LOCAL_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

# Workflow actions (services.cases.workflow) by their Chinese names.
ACTION_NAMES = {
    "report": "上报",
    "validate": "立案",
    "reject": "判为无效",
    "dispatch": "派遣",
    "call_department": "吹哨报到",
    "accept": "受理",
    "handle": "处置完毕",
    "verify": "核查结案",
    "reopen": "重新处置",
    "close": "不予处置结案",
    "mark_duplicate": "合并为重复",
    "escalate": "上报上级",
}

LEVELS = ("grid", "village", "township", "county")  # handling levels, one rung up at a time
LEVEL_NAMES = {"grid": "网格", "village": "村(社区)", "township": "乡镇(街道)", "county": "县级"}
AREA_LEVELS = ("county", "township", "village", "grid")
AREA_LEVEL_NAMES = {"county": "县", "township": "乡镇(街道)", "village": "村(社区)", "grid": "网格"}
CODE_LENGTHS = {"county": 6, "township": 9, "village": 12, "grid": 15}

STATES = (
    "reported",  # 待核实
    "invalid",  # 无效
    "registered",  # 待派遣 (立案)
    "dispatched",  # 已派遣
    "in_progress",  # 处置中
    "handled",  # 待核查
    "closed",  # 已结案
)
STATE_NAMES = {
    "reported": "待核实",
    "invalid": "无效",
    "registered": "待派遣",
    "dispatched": "已派遣",
    "in_progress": "处置中",
    "handled": "待核查",
    "closed": "已结案",
}
OPEN_STATES = ("reported", "registered", "dispatched", "in_progress", "handled")
# Stage times of an incident, in workflow order (NULL/NaT where the stage was not reached).
INCIDENT_TIMES = (
    "reported_at",
    "validated_at",
    "rejected_at",
    "dispatched_at",
    "accepted_at",
    "handled_at",
    "closed_at",
)
CLOSE_REASONS = ("fixed", "duplicate", "not_our_responsibility", "no_action_needed")
SATISFACTION = ("满意", "基本满意", "不满意")
SEVERITIES = ("normal", "urgent")
SEVERITY_NAMES = {"normal": "一般", "urgent": "紧急"}
CHANNELS = ("patrol", "resident", "hotline", "app", "department")
CHANNEL_NAMES = {
    "patrol": "网格员巡查",
    "resident": "群众上报",
    "hotline": "热线",
    "app": "APP",
    "department": "部门系统",
}
CLOSE_REASON_NAMES = {
    "fixed": "已解决",
    "duplicate": "重复事件",
    "not_our_responsibility": "非本部门职责",
    "no_action_needed": "无需处置",
}

# Grid staff (the `workers` register).  The stored role is one of WORKER_ROLES; county registers
# name the post in many ways, each counted as one role (the register's wording is kept as the
# worker's role_title, for display).  A grid leader leads or guides a grid's staff (网格长, and
# the township cadre 网格指导员); everyone else patrols a grid or part of one.  (Roles of the app's
# users are services.access.actor.USER_ROLE_NAMES.)
WORKER_ROLES = ("worker", "grid_leader")
WORKER_ROLE_NAMES = {"worker": "网格员", "grid_leader": "网格长"}


def worker_posts(role_titles: pd.Series, roles: pd.Series) -> pd.Series:
    """The post shown for each worker: the register's own wording when the import kept one, else
    the role's name."""
    return role_titles.fillna(roles.map(WORKER_ROLE_NAMES)).fillna(roles)


WORKER_TITLES: dict[str, tuple[str, ...]] = {
    "worker": (
        "网格员",
        "专职网格员",
        "兼职网格员",
        "网格管理员",
        "专职网格管理员",
        "兼职网格管理员",
        "网格协管员",
        "网格信息员",
        "微网格员",
        "微网格长",
        "楼栋长",
        "单元长",
    ),
    "grid_leader": ("网格长", "网格指导员"),
}
# Every accepted word (the stored roles themselves included) and the role it stands for.
WORKER_ROLE_WORDS = {
    **{role: role for role in WORKER_ROLES},
    **{title: role for role, titles in WORKER_TITLES.items() for title in titles},
}

SERVICE_TAGS = ("独居老人", "留守儿童", "残疾人", "低保户", "特困供养", "党员户", "退役军人")
# GB/T 31000-2015 key persons: visible only to roles cleared for them (issue 8).
KEY_PERSON_TAGS = ("重点人员", "社区矫正", "刑满释放", "严重精神障碍患者", "吸毒人员")
HOUSEHOLD_TAGS = SERVICE_TAGS + KEY_PERSON_TAGS

# Two-level taxonomy: category → subcategories.
CATEGORIES: dict[str, tuple[str, ...]] = {
    "矛盾纠纷": ("邻里纠纷", "婚姻家庭纠纷", "土地承包纠纷", "宅基地纠纷", "劳资纠纷"),
    "安全隐患": ("消防隐患", "用电安全", "燃气安全", "危房", "道路交通隐患", "防汛隐患"),
    "环境卫生": ("垃圾堆放", "污水排放", "秸秆焚烧", "乱搭乱建", "畜禽养殖污染"),
    "民生服务": ("低保救助", "养老服务", "医疗救助", "道路破损", "路灯损坏", "饮水问题"),
    "治安": ("可疑人员", "盗窃", "赌博", "电信诈骗"),
    "信访": ("信访诉求", "政策咨询"),
}

VALIDATION_LIMIT_HOURS = 24.0
DEFAULT_HANDLING_LIMIT_HOURS = {"normal": 72.0, "urgent": 24.0}
AT_RISK_SHARE = 0.8
