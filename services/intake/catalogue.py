"""The category taxonomy (`services.domain.CATEGORIES`) as Open311 services: one service per
category, its subcategory and severity as the service's attributes, and the Open311 status of a
case.  Service codes are ASCII so that they sit in a URL as they are."""

from __future__ import annotations

import dataclasses

from services.domain import CATEGORIES, OPEN_STATES, SEVERITY_NAMES

# One code per category of services.domain.CATEGORIES (a test keeps the two in step).
SERVICE_CODES = {
    "dispute": "矛盾纠纷",
    "safety": "安全隐患",
    "sanitation": "环境卫生",
    "livelihood": "民生服务",
    "public_order": "治安",
    "petition": "信访",
}
CATEGORY_SERVICE_CODES = {category: code for code, category in SERVICE_CODES.items()}
SERVICE_DESCRIPTIONS = {
    "dispute": "邻里、婚姻家庭、土地承包、宅基地、劳资等矛盾纠纷",
    "safety": "消防、用电、燃气、危房、道路交通、防汛等安全隐患",
    "sanitation": "垃圾堆放、污水排放、秸秆焚烧、乱搭乱建、畜禽养殖污染",
    "livelihood": "低保救助、养老、医疗救助、道路破损、路灯损坏、饮水问题",
    "public_order": "可疑人员、盗窃、赌博、电信诈骗",
    "petition": "信访诉求、政策咨询",
}
SUBCATEGORY_ATTRIBUTE = "subcategory"
SEVERITY_ATTRIBUTE = "severity"
OPEN311_STATUS = {state: "open" for state in OPEN_STATES} | {"closed": "closed", "invalid": "closed"}
STATUSES = ("open", "closed")


@dataclasses.dataclass(frozen=True)
class Service:
    code: str
    category: str

    def as_open311(self) -> dict[str, object]:
        return {
            "service_code": self.code,
            "service_name": self.category,
            "description": SERVICE_DESCRIPTIONS[self.code],
            "metadata": True,
            "type": "realtime",
            "keywords": ",".join(CATEGORIES[self.category]),
            "group": "民情诉求",
        }

    def definition(self) -> dict[str, object]:
        """The Open311 service definition: its attributes (the subcategory is required)."""
        return {
            "service_code": self.code,
            "attributes": [
                {
                    "variable": True,
                    "code": SUBCATEGORY_ATTRIBUTE,
                    "datatype": "singlevaluelist",
                    "required": True,
                    "datatype_description": "事件小类，取下列之一",
                    "order": 1,
                    "description": "事件小类",
                    "values": [{"key": name, "name": name} for name in CATEGORIES[self.category]],
                },
                {
                    "variable": True,
                    "code": SEVERITY_ATTRIBUTE,
                    "datatype": "singlevaluelist",
                    "required": False,
                    "datatype_description": "紧急程度，默认 normal（一般）",
                    "order": 2,
                    "description": "紧急程度",
                    "values": [{"key": key, "name": name} for key, name in SEVERITY_NAMES.items()],
                },
            ],
        }


SERVICES = tuple(Service(code, category) for code, category in SERVICE_CODES.items())

# 12345 hotline work orders: the platform's 诉求类别 → (category, subcategory) of the taxonomy.
# README's table is generated from this one (a test keeps them in step).  A category may also be
# written as the taxonomy's own 大类/小类 (安全隐患/危房) or a subcategory alone (危房).
HOTLINE_CATEGORIES: dict[str, tuple[str, str]] = {
    "邻里纠纷": ("矛盾纠纷", "邻里纠纷"),
    "婚姻家庭": ("矛盾纠纷", "婚姻家庭纠纷"),
    "土地承包": ("矛盾纠纷", "土地承包纠纷"),
    "土地纠纷": ("矛盾纠纷", "土地承包纠纷"),
    "宅基地": ("矛盾纠纷", "宅基地纠纷"),
    "劳动保障": ("矛盾纠纷", "劳资纠纷"),
    "欠薪": ("矛盾纠纷", "劳资纠纷"),
    "消防安全": ("安全隐患", "消防隐患"),
    "用电安全": ("安全隐患", "用电安全"),
    "燃气安全": ("安全隐患", "燃气安全"),
    "房屋安全": ("安全隐患", "危房"),
    "交通安全": ("安全隐患", "道路交通隐患"),
    "防汛抗旱": ("安全隐患", "防汛隐患"),
    "环境卫生": ("环境卫生", "垃圾堆放"),
    "垃圾清运": ("环境卫生", "垃圾堆放"),
    "水污染": ("环境卫生", "污水排放"),
    "大气污染": ("环境卫生", "秸秆焚烧"),
    "违法建设": ("环境卫生", "乱搭乱建"),
    "畜禽养殖": ("环境卫生", "畜禽养殖污染"),
    "社会救助": ("民生服务", "低保救助"),
    "养老服务": ("民生服务", "养老服务"),
    "医疗保障": ("民生服务", "医疗救助"),
    "道路设施": ("民生服务", "道路破损"),
    "路灯照明": ("民生服务", "路灯损坏"),
    "供水": ("民生服务", "饮水问题"),
    "社会治安": ("治安", "可疑人员"),
    "电信诈骗": ("治安", "电信诈骗"),
    "投诉举报": ("信访", "信访诉求"),
    "政策咨询": ("信访", "政策咨询"),
}


def hotline_category(text: str) -> tuple[str, str] | None:
    """(category, subcategory) of a work order's 诉求类别, or None when it names neither a
    mapped category nor the taxonomy's own."""
    name = "".join(text.split())
    if name in HOTLINE_CATEGORIES:
        return HOTLINE_CATEGORIES[name]
    category, _, subcategory = name.partition("/")
    if subcategory and subcategory in CATEGORIES.get(category, ()):
        return category, subcategory
    owners = [c for c, subs in CATEGORIES.items() if name in subs]
    return (owners[0], name) if len(owners) == 1 else None
