"""The hot-word lexicon the simulated city publishes, version by version.

Each version is complete (a ``LexiconPublished`` replaces the previous one from its
``effective_from`` on, it is not a delta): user words, the grid-governance terms jieba must
keep whole, and stop words, the domain-generic words no ranking should show. ``lex-2026.1``
adds a few terms that came up in 2025, so replays exercise a change of version.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from events.models import Envelope, LexiconPublished

__all__ = ["LEXICONS", "LEXICON_2025_1", "LEXICON_2026_1", "lexicon_event", "lexicon_events"]

_USER_WORDS_2025 = tuple(
    # safety and fire
    "电动车 电瓶车 飞线充电 楼道充电 充电桩 私拉电线 消防通道 消防设施 消防隐患 灭火器"
    " 安全隐患 安全出口 燃气管道 脚手架 危化品 山体滑坡 楼道堆物 楼道灯 有限空间 监控探头"
    # housing, building and rentals
    " 群租房 出租房 出租屋 违章搭建 违章建筑 违规加层 危房 墙体开裂 老旧小区 阳台栏杆"
    " 宅基地 空调外机 二次供水"
    # city appearance and streets
    " 占道经营 流动摊贩 夜宵摊 小广告 户外广告 沿街晾晒 乱堆杂物 乱停车 僵尸车 私设地锁 地锁"
    " 井盖 窨井 窨井盖 路灯"
    " 路面坑洼 积水 排水沟 地下车库 内涝 防汛 防汛物资 应急物资 绿化带 树木倒伏 共享单车"
    # environment and sanitation
    " 垃圾分类 垃圾桶 建筑垃圾 生活垃圾 厨余垃圾 大件垃圾 餐饮油烟 噪音扰民 高空抛物 扬尘"
    " 夜间施工 河道 异味 蚊虫孳生 公厕"
    " 秸秆焚烧 农田抛荒 畜禽养殖 流浪狗 流浪猫 犬只 烈性犬 文明养犬"
    # people and livelihoods
    " 独居老人 空巢老人 高龄老人 居家养老 托育机构 困难家庭 低保 低保户 残疾人 留守儿童"
    " 助餐点 养老院 老人走失"
    " 欠薪 拖欠工资 农民工 劳动合同 工伤 社区矫正 刑满释放人员 精神障碍 吸毒人员"
    # markets, health and order
    " 食品安全 过期食品 无证经营 无证行医 校外培训 可疑人员 聚众喧哗 邻里纠纷 矛盾纠纷"
    " 漏水 宠物扰民 电梯故障 门禁 物业费 物业服务 停车位 拆迁补偿 电信诈骗"
    # the grid itself
    " 网格员 网格长".split()
)

_STOP_WORDS_2025 = (
    "的",
    "了",
    "在",
    "是",
    "和",
    "有",
    "也",
    "都",
    "被",
    "把",
    "将",
    "与",
    "及",
    "等",
    "某",
    "已",
    "需",
    "请",
    "存在",
    "情况",
    "问题",
    "反映",
    "居民",
    "群众",
    "住户",
    "村民",
    "人员",
    "需要",
    "处理",
    "处置",
    "尽快",
    "及时",
    "多次",
    "反复",
    "附近",
    "周边",
    "影响",
    "发现",
    "出现",
    "较大",
    "严重",
    "现场",
    "长期",
    "相关",
    "有关",
    "部门",
    "社区",
    "小区",
    "街道",
    "上报",
    "核实",
    "协调",
    "联系",
    "要求",
    "希望",
    "请求",
    "进行",
    "无人",
    "拍照",
    "留存",
    "风险",
    "造成",
    "导致",
    "生活",
)

_USER_WORDS_2026_ADDED = ("电动自行车", "充电柜", "加装电梯", "燃气泄漏", "反诈", "无人机")
_STOP_WORDS_2026_ADDED = ("辖区", "一带")

LEXICON_2025_1: tuple[tuple[str, ...], tuple[str, ...]] = (_USER_WORDS_2025, _STOP_WORDS_2025)
"""``(user_words, stop_words)`` of ``lex-2025.1``."""

LEXICON_2026_1: tuple[tuple[str, ...], tuple[str, ...]] = (
    _USER_WORDS_2025 + _USER_WORDS_2026_ADDED,
    _STOP_WORDS_2025 + _STOP_WORDS_2026_ADDED,
)
"""``(user_words, stop_words)`` of ``lex-2026.1``: 2025's words and a few more."""

LEXICONS: dict[str, tuple[date, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "lex-2025.1": (date(2025, 1, 1), LEXICON_2025_1),
    "lex-2026.1": (date(2026, 1, 1), LEXICON_2026_1),
}
"""Every version, oldest first: ``version → (effective_from, (user_words, stop_words))``."""


def lexicon_event(
    env: Envelope, version: str = "lex-2025.1", effective_from: date | None = None
) -> LexiconPublished:
    """The ``LexiconPublished`` of one version.

    Parameters:
        env: the event's envelope.
        version: a key of ``LEXICONS``.
        effective_from: when it applies; by default the version's own date.

    Raises:
        ValueError: for a version not in ``LEXICONS``.
    """
    if version not in LEXICONS:
        raise ValueError(f"unknown lexicon version {version!r}; known: {', '.join(LEXICONS)}")
    since, (user_words, stop_words) = LEXICONS[version]
    return LexiconPublished(
        envelope=env,
        lexicon_version=version,
        user_words=user_words,
        stop_words=stop_words,
        effective_from=effective_from or since,
    )


def lexicon_events(envelope: Callable[[], Envelope]) -> list[LexiconPublished]:
    """Every version in ``LEXICONS`` order, each with a fresh envelope from ``envelope()``."""
    return [lexicon_event(envelope(), version) for version in LEXICONS]
