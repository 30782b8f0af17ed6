"""Chinese column labels of the tables the pages show and export (st.dataframe, CSV, Excel).

One label per column name, so a column reads the same in every table; the few names that mean
something else in one table (an area's `name` is its 名称, a person's 姓名) get that table's own
dict, built from the common one.  Pages pick which columns to show; the words live here."""

from __future__ import annotations

# A label of several lines (map tooltips) is plain text with its lines separated by this; the
# rendering edge (render/markup.py) turns it into <br> after escaping.
LINE_BREAK = "\n"
COLUMN_LABELS = {
    # incidents (queue, a grid's open cases)
    "incident_id": "编号",
    "grid_code": "网格",
    "category": "类别",
    "severity": "等级",
    "state": "状态",
    "need": "待办",
    "reported_at": "上报时间",
    "deadline": "处置时限",
    "hours_left": "剩余小时",
    "alarm": "预警",
    # areas
    "households": "住户",
    "special_households": "特殊人群户",
    "open": "在办",
    "overdue": "超期",
    "at_risk": "临期",
    "coverage": "巡查覆盖",
    # households
    "household_id": "户编号",
    "head_name": "户主",
    "address": "地址",
    "members": "人数",
    "phone": "电话",
    "tags": "标签",
    "tag": "标签",
    # people: grid staff and the app's users
    "worker_id": "编号",
    "name": "姓名",
    "role": "岗位",
    "on_duty": "状态",
    "last_seen": "最后定位",
    "username": "用户名",
    "display_name": "姓名",
    "role_name": "角色",
    "areas": "负责区域",
    "disabled": "已停用",
    # patrol compliance
    "grids": "负责网格",
    "logs": "巡查日志",
    "valid_reports": "有效上报",
    "patrol_days": "巡查天数",
    "distance_km": "巡查里程(km)",
    "flagged_days": "可疑天数",
    "flags": "可疑情况",
    "below_target": "未达标",
    # audit log
    "at": "时间",
    "action_name": "操作",
    "target": "对象",
    "detail": "说明",
}
AREA_LABELS = COLUMN_LABELS | {"name": "名称"}  # the sub-areas of an area
TAG_COUNT_LABELS = COLUMN_LABELS | {"households": "户数"}  # households per tag
# A worker's coverage is of the households of their own grids over the month.
COMPLIANCE_LABELS = COLUMN_LABELS | {"coverage": "网格走访覆盖"}
AUDIT_LABELS = COLUMN_LABELS | {"username": "用户"}  # who acted, as the log names them
# 接入管理: the intake keys and the requests that came in (services.intake).
INTAKE_LABELS = COLUMN_LABELS | {
    "name": "名称",
    "channel_name": "渠道",
    "active": "有效",
    "created_at": "创建时间",
    "created_by": "创建人",
    "revoked_at": "吊销时间",
    "requests": "接入件数",
    "last_request_at": "最近接入",
    "received_at": "接收时间",
    "source": "来源",
    "external_id": "对方编号",
    "state_name": "状态",
    "email": "邮箱",
}
INTAKE_SENDER_LABELS = INTAKE_LABELS | {"name": "诉求人"}
