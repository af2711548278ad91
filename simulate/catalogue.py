"""The fixed vocabulary of the simulated city: departments, inspection items (categories) and
districts, with how often each kind of problem comes up where and when.

A category's share of reports is ``weight × season[quarter] × Π setting[s]`` over the settings
of the district (urban, rural, industrial, coastal), so that a coastal county reports more
flooding in the typhoon quarter and an industrial district more pollution all year: the
statistics and hot words of the read models then differ by district and quarter for a reason.
Plain data; the generators draw from it with a seeded RNG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("civil-affairs", "民政"),
    ("market-supervision", "市场监管"),
    ("law-enforcement", "综合执法"),
    ("work-safety", "安全生产"),
    ("fire", "消防"),
    ("housing", "住建"),
    ("health", "卫健"),
    ("public-security", "公安"),
    ("justice", "司法"),
    ("ecology", "生态环境"),
    ("water", "水利"),
    ("transport", "交通运输"),
    ("natural-resources", "自然资源和规划"),
    ("human-resources", "人力社保"),
    ("education", "教育"),
    ("agriculture", "农业农村"),
    ("culture-tourism", "文化旅游"),
    ("emergency", "应急管理"),
    ("petitions", "信访"),
    ("utilities", "供水供电"),
    ("sanitation", "环卫"),
    ("community-affairs", "社区事务"),
)
DEPARTMENT_NAMES: dict[str, str] = dict(DEPARTMENTS)

URBAN, RURAL, INDUSTRIAL, COASTAL = "urban", "rural", "industrial", "coastal"
EVEN = (1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class CategorySpec:
    """An inspection item: its default department, how urgent and how frequent it is."""

    code: str
    name: str
    department: str
    urgent_share: float
    weight: float
    season: tuple[float, float, float, float] = EVEN  # multiplier by quarter, Q1..Q4
    settings: Mapping[str, float] = field(default_factory=dict)  # multiplier by setting


def _c(
    code: str,
    name: str,
    dept: str,
    urgent: float,
    weight: float,
    season: tuple[float, float, float, float] = EVEN,
    **settings: float,
) -> CategorySpec:
    return CategorySpec(code, name, dept, urgent, weight, season, settings)


# A table: one category per line reads better than the formatter's layout.
# fmt: off
CATEGORIES: tuple[CategorySpec, ...] = (
    _c("relief", "民政救助", "civil-affairs", 0.05, 3, (1.4, 0.9, 0.8, 1.2), rural=1.4),
    _c("food-drug", "食品药品", "market-supervision", 0.15, 3, (1.0, 1.0, 1.3, 1.0), urban=1.3),
    _c("appearance", "市容市貌", "law-enforcement", 0.02, 9, urban=1.5, rural=0.6),
    _c("safety-hazard", "安全隐患", "work-safety", 0.25, 8, (1.2, 0.9, 1.0, 1.1), industrial=1.8),
    _c("dispute", "邻里纠纷", "justice", 0.05, 5, (1.0, 1.0, 1.2, 1.0), urban=1.3),
    _c("fire", "火灾隐患", "fire", 0.4, 6, (1.7, 0.8, 0.7, 1.3), industrial=1.3),
    _c("illegal-building", "违章建筑", "natural-resources", 0.05, 3, rural=1.8, urban=0.7),
    _c("garbage", "垃圾分类", "sanitation", 0.02, 9, (0.9, 1.0, 1.3, 0.9), urban=1.2),
    _c("road", "道路设施", "transport", 0.1, 6, (1.1, 1.1, 1.2, 0.9)),
    _c("water-supply", "供水供电", "utilities", 0.15, 3, (1.5, 0.9, 1.3, 0.9)),
    _c("pollution", "环境污染", "ecology", 0.1, 4, (0.9, 1.1, 1.3, 0.9), industrial=2.0),
    _c("housing", "房屋安全", "housing", 0.2, 3, (0.9, 1.3, 1.3, 0.8), urban=1.2),
    _c("public-order", "治安防范", "public-security", 0.2, 4, (1.1, 1.0, 1.1, 1.0), urban=1.2),
    _c("health", "卫生健康", "health", 0.1, 3, (1.2, 1.3, 1.8, 0.8)),
    _c("labour", "劳资纠纷", "human-resources", 0.1, 2, (2.2, 0.7, 0.6, 1.6), industrial=2.0),
    _c("flood", "防汛防台", "water", 0.3, 3, (0.2, 1.6, 3.5, 0.4), coastal=1.8),
    _c("rental", "出租房管理", "public-security", 0.05, 4, industrial=1.6, urban=1.3, rural=0.6),
    _c("education", "教育管理", "education", 0.05, 1.5, (1.0, 1.0, 1.4, 1.0), urban=1.2),
    _c("agriculture", "农业农村", "agriculture", 0.05, 2, (0.7, 1.5, 1.0, 1.4), rural=3.0,
       urban=0.1),
    _c("tourism", "文化旅游", "culture-tourism", 0.02, 1, (0.7, 1.4, 1.5, 0.9), coastal=1.5),
    _c("emergency", "应急管理", "emergency", 0.4, 1.5, (0.8, 1.2, 1.6, 0.8), industrial=1.5,
       coastal=1.3),
    _c("petition", "信访诉求", "petitions", 0.05, 2, urban=1.2),
    _c("greening", "园林绿化", "law-enforcement", 0.02, 3, (0.8, 1.2, 1.6, 0.9), urban=1.3),
    _c("parking", "停车管理", "law-enforcement", 0.02, 7, urban=1.8, rural=0.4),
    _c("elderly", "养老服务", "civil-affairs", 0.05, 2.5, (1.3, 1.0, 0.9, 1.1), rural=1.4),
    _c("special-groups", "特殊人群", "justice", 0.1, 1),
    _c("property", "物业管理", "community-affairs", 0.02, 5, (1.0, 1.0, 1.2, 1.0), urban=1.8,
       rural=0.3),
    _c("stray-animals", "流浪动物", "community-affairs", 0.02, 2, (0.9, 1.3, 1.1, 0.9)),
)
# fmt: on
CATEGORY_BY_CODE: dict[str, CategorySpec] = {c.code: c for c in CATEGORIES}


@dataclass(frozen=True)
class DistrictSpec:
    """A district or county: its code, name and the settings that shape its problems."""

    code: str
    name: str
    settings: tuple[str, ...]
    landmarks: tuple[str, ...]


DISTRICTS: tuple[DistrictSpec, ...] = (
    DistrictSpec("haishu", "海曙区", (URBAN,), ("鼓楼", "天一广场", "月湖", "南塘老街")),
    DistrictSpec("jiangbei", "江北区", (URBAN,), ("老外滩", "慈城古镇", "洪塘")),
    DistrictSpec("zhenhai", "镇海区", (INDUSTRIAL, COASTAL), ("庄市", "招宝山", "化工区")),
    DistrictSpec("beilun", "北仑区", (INDUSTRIAL, COASTAL), ("港区", "梅山", "大碶")),
    DistrictSpec("yinzhou", "鄞州区", (URBAN,), ("东部新城", "南部商务区", "万达广场")),
    DistrictSpec("fenghua", "奉化区", (RURAL,), ("溪口", "萧王庙", "尚田")),
    DistrictSpec("yuyao", "余姚市", (RURAL, INDUSTRIAL), ("阳明", "泗门", "四明山")),
    DistrictSpec("cixi", "慈溪市", (INDUSTRIAL, RURAL), ("观海卫", "周巷", "杭州湾")),
    DistrictSpec("ninghai", "宁海县", (RURAL, COASTAL), ("跃龙", "长街", "前童古镇")),
    DistrictSpec("xiangshan", "象山县", (COASTAL, RURAL), ("石浦", "丹西", "渔港")),
)
DISTRICT_BY_CODE: dict[str, DistrictSpec] = {d.code: d for d in DISTRICTS}


def category_weights(district: DistrictSpec, quarter: int) -> list[float]:
    """The relative share of each category (in ``CATEGORIES`` order) in a district and quarter."""
    weights = []
    for category in CATEGORIES:
        w = category.weight * category.season[quarter - 1]
        for setting in district.settings:
            w *= category.settings.get(setting, 1.0)
        weights.append(w)
    return weights
