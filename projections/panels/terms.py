"""The domain's own terms in Chinese, once: what pages and panels call statuses, events,
stages, channels, priorities, roles, escalation levels and deadline states. Pure."""

from __future__ import annotations

__all__ = [
    "CHANNEL",
    "DEADLINE",
    "ESCALATION",
    "EVENT",
    "PRIORITY",
    "ROLE",
    "STAGE",
    "STATUS",
    "SUPERVISION",
    "ladder_step",
]

STATUS = {
    "reported": "已上报",
    "accepted": "已立案",
    "rejected": "不予立案",
    "dispatched": "已派遣",
    "in_progress": "处置中",
    "suspended": "挂起",
    "parked": "挂账",
    "resolved": "已办结",
    "verified": "已核查",
    "closed": "已结案",
}
EVENT = {
    "CaseReported": "上报",
    "CaseAccepted": "立案",
    "CaseRejected": "不予立案",
    "CaseDispatched": "派遣",
    "CaseClaimed": "签收",
    "CaseTransferred": "转派",
    "CaseReturned": "退单",
    "CaseExtended": "延期",
    "CaseSuspended": "挂起",
    "CaseResumed": "恢复",
    "CaseEscalated": "上报上级",
    "CaseResolved": "办结",
    "CaseVerified": "核查",
    "CaseReopened": "返工",
    "CaseClosed": "结案",
    "CaseEvaluated": "评价",
    "DeadlineScheduled": "时限设定",
    "DeadlineWarned": "预警",
    "DeadlineBreached": "超时",
    "CaseUrged": "催办",
    "CaseSupervised": "督办",
    "CaseNoticed": "通报",
    "CaseParked": "挂账",
    "CaseUnparked": "销账恢复",
    "HandoffRequested": "推诿申请",
    "HandoffRuled": "推诿裁定",
}
SUPERVISION = {"street": "街道督办", "district": "区县督办"}


def ladder_step(urges: int, supervision: str | None, notices: int) -> str:
    """Where a case stands on the supervision ladder past its breach, in Chinese: 通报, 督办
    and 催办, as far as it went; — when it has taken none of them."""
    parts = []
    if notices:
        parts.append(f"通报{notices}次")
    if supervision:
        parts.append(SUPERVISION.get(supervision, supervision))
    if urges:
        parts.append(f"催办{urges}次")
    return "，".join(parts) or "—"


CHANNEL = {
    "grid_visit": "网格员巡查发现",
    "resident": "居民上报",
    "hotline": "12345热线",
    "department": "部门发现",
}
PRIORITY = {"normal": "一般", "urgent": "紧急", "critical": "特急"}
ESCALATION = {"street": "街道", "district": "区县(市)", "city": "市"}
ROLE = {
    "grid_worker": "网格员",
    "grid_leader": "网格长",
    "command_centre": "综合指挥室",
    "department": "部门",
    "resident": "居民",
    "system": "系统",
}
STAGE = {"claim": "签收", "handle": "处置", "verify": "核查"}
DEADLINE = {
    "open": "计时中",
    "warned": "已预警",
    "breached": "已超时",
    "paused": "已暂停",
    "met": "按期完成",
    "cancelled": "已取消",
}
