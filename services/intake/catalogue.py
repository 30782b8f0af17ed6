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
