"""The DESIGN.md exchange formats: the fields of each file, in order.  Import requires them and
export writes them, so the two cannot drift apart."""

from __future__ import annotations

GRID_FIELDS = ("grid_code", "grid_name", "village_code", "village_name", "township_code", "township_name")
HOUSEHOLD_FIELDS = ("household_id", "head_name", "address", "members", "phone", "lon", "lat", "tags")
HOUSEHOLD_OPTIONAL = ("grid_code", "id_number")  # id_number: the head's 居民身份证号 (personal data)
WORKER_FIELDS = ("worker_id", "name", "phone", "role", "grid_codes")
INCIDENT_FIELDS = (
    "incident_id",
    "category",
    "severity",
    "lon",
    "lat",
    "description",
    "channel",
    "reported_at",
    "validated_at",
    "rejected_at",
    "dispatched_at",
    "assignee_worker_id",
    "handled_at",
    "closed_at",
    "level",
    "satisfaction",
)
FIX_FIELDS = ("worker_id", "ts", "lon", "lat", "accuracy_m")
# 12345 hotline work orders as the platforms export them (services.exchange.imports.workorders).
WORKORDER_FIELDS = ("order_id", "content", "address", "accepted_at", "request_category")
WORKORDER_OPTIONAL = ("lonlat", "lon", "lat", "caller_name", "caller_phone")

KIND_FIELDS = {
    "grids": GRID_FIELDS,
    "households": HOUSEHOLD_FIELDS,
    "workers": WORKER_FIELDS,
    "incidents": INCIDENT_FIELDS,
    "fixes": FIX_FIELDS,
    "workorders": WORKORDER_FIELDS,
}
KIND_OPTIONAL = {"households": HOUSEHOLD_OPTIONAL, "workorders": WORKORDER_OPTIONAL}

# Column names of county registers (Chinese headers) accepted for each exchange field.  A header
# matches after normalisation (services.exchange.imports.readers.header_key: full-width forms folded,
# spaces and a leading `*` dropped, a `(必填)` note cut, case ignored), so 村（社区）编码 and
# ` 村(社区)编码 ` are the same name.  Only the names here are accepted: a guess could put a
# column into the wrong field.
FIELD_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "grids": {
        "grid_code": ("网格编码", "网格编号", "网格代码"),
        "grid_name": ("网格名称", "网格名"),
        "village_code": ("村(社区)编码", "村(居)编码", "村编码", "社区编码", "行政村编码", "村(社区)代码"),
        "village_name": ("村(社区)名称", "村(居)名称", "村名称", "社区名称", "行政村名称", "村(社区)", "村名"),
        "township_code": ("乡镇(街道)编码", "乡镇编码", "街道编码", "乡镇(街道)代码"),
        "township_name": ("乡镇(街道)名称", "乡镇名称", "街道名称", "乡镇(街道)", "乡镇"),
    },
    "households": {
        "household_id": ("户编号", "户号", "住户编号", "家庭户编号"),
        "head_name": ("户主姓名", "户主", "户主名称"),
        "address": ("地址", "住址", "家庭住址", "详细地址", "现住址"),
        "members": ("人口数", "家庭人口", "家庭人口数", "户内人口", "人数"),
        "phone": ("联系电话", "电话", "手机", "手机号", "手机号码", "联系方式"),
        "lon": ("经度",),
        "lat": ("纬度",),
        "tags": ("标签", "人员标签", "户标签", "特殊人群"),
        "grid_code": ("网格编码", "所属网格", "所属网格编码", "网格编号"),
        "id_number": ("身份证号", "身份证号码", "户主身份证号", "户主身份证号码", "公民身份号码"),
    },
    "workers": {
        "worker_id": ("工号", "网格员编号", "人员编号", "编号"),
        "name": ("姓名", "网格员姓名"),
        "phone": ("电话", "联系电话", "手机", "手机号", "手机号码"),
        "role": ("岗位", "职务", "角色", "人员类别", "网格员类别"),
        "grid_codes": ("负责网格", "负责网格编码", "所属网格", "网格编码"),
    },
    "incidents": {
        "incident_id": ("事件编号", "案件编号", "工单编号", "工单号"),
        "category": ("事件类别", "事件类型", "事件大类", "类别"),
        "severity": ("紧急程度", "严重程度"),
        "lon": ("经度",),
        "lat": ("纬度",),
        "description": ("事件描述", "问题描述", "事件内容", "描述"),
        "channel": ("来源", "事件来源", "上报渠道", "渠道"),
        "reported_at": ("上报时间", "发现时间", "登记时间"),
        "validated_at": ("核实时间", "立案时间"),
        "rejected_at": ("判定无效时间", "无效时间", "作废时间"),
        "dispatched_at": ("派遣时间", "派单时间"),
        "assignee_worker_id": ("处置人工号", "承办人工号", "处置网格员工号"),
        "handled_at": ("处置完成时间", "处置时间"),
        "closed_at": ("结案时间", "办结时间"),
        "level": ("处置层级", "办理层级", "层级"),
        "satisfaction": ("满意度", "群众满意度"),
    },
    "fixes": {
        "worker_id": ("工号", "网格员编号", "人员编号"),
        "ts": ("定位时间", "采集时间", "时间"),
        "lon": ("经度",),
        "lat": ("纬度",),
        "accuracy_m": ("定位精度", "精度", "定位精度(米)", "精度(米)", "精度(m)"),
    },
    "workorders": {
        "order_id": ("工单编号", "工单号"),
        "content": ("诉求内容", "来电内容", "工单内容", "诉求描述"),
        "address": ("地址", "诉求地址", "事发地址", "事发地点"),
        "accepted_at": ("受理时间", "来电时间", "登记时间"),
        "request_category": ("诉求类别", "诉求分类", "工单类别", "问题类别"),
        "lonlat": ("经纬度", "坐标"),
        "lon": ("经度",),
        "lat": ("纬度",),
        "caller_name": ("来电人", "来电人姓名", "诉求人"),
        "caller_phone": ("来电号码", "联系电话", "联系方式"),
    },
}

# Identifiers and phone numbers: text even where they look like numbers, so a spreadsheet's
# 13800000000.0 is read back as 13800000000 and a number Excel has cut (1.30532E+13) is refused.
CODE_FIELDS = frozenset(
    {
        "grid_code",
        "village_code",
        "township_code",
        "household_id",
        "phone",
        "id_number",
        "worker_id",
        "grid_codes",
        "incident_id",
        "assignee_worker_id",
        "order_id",
        "caller_phone",
    }
)
