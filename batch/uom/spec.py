"""The UOM API's field tables, choice lists, messages and versions: one place for the wire facts.

Everything here is copied from the UOM manual (UpdateTicket, ReleaseIncidentRelate, the opening of
GetTicketDetail) or fixed by the project's decisions D1–D17 where the manual is silent. The client,
the emulator and the job kinds' validation rules all read these tables, so a fact changes in one
place when the live API proves otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class TicketKind(StrEnum):
    """`TicketProcessType`: which of UpdateTicket's two tables applies."""

    INCIDENT = "1"
    REQUEST = "2"


# D13: the API version goes with the action.
API_VERSIONS: Final[dict[str, str]] = {
    "GetTicketDetail": "20221221",
    "UpdateTicket": "20221221",
    "RegisterTicket": "20221221",
    "ReleaseIncidentRelate": "20161003",
    "UpdateIncident": "20161003",
}
CONTENT_TYPE: Final = "application/json; charset=utf-8"
OFFICE_ID: Final = "IIJ00000001"  # RIR: 固定 (fixed value)
LOCALE: Final = "0"  # RIR: only 0 (日本語)


def action_path(action: str) -> str:
    """The REST path of an action: `/r/{APIVersion}/{Action}.json`."""
    return f"/r/{API_VERSIONS[action]}/{action}.json"


# Value formats (the `fmt` of a field).
TEXT: Final = "text"
DATE: Final = "date"  # YYYYMMDDhhmmss, a real calendar time
MASTER_ID: Final = "master_id"  # SA + digits
TICKET_ID: Final = "ticket_id"  # UTM + digits (D10)
SERVICE_CODE: Final = "service_code"  # uom + alphanumerics


@dataclass(frozen=True, slots=True)
class Field:
    """One request parameter: its limits and its allowed values."""

    name: str
    required: bool = False
    max_chars: int | None = 256
    max_bytes: int | None = None  # the manual's `65535Byte` fields, counted in UTF-8 (D8)
    choices: tuple[str, ...] | None = None
    fmt: str = TEXT


INCIDENT_STATES: Final = ("未対応", "対応中", "復旧済み", "クローズ承認待ち", "差し戻し", "クローズ")
REQUEST_STATES: Final = ("新規", "対応中", "クローズ承認待ち", "差し戻し", "クローズ")
CLOSED: Final = "クローズ"
CLOSING_STATES: Final = frozenset({"クローズ", "クローズ承認待ち"})
SUPPORT_GROUPS: Final = ("お客様", "SEサポート", "サポートセンター")
PRIORITIES: Final = ("高", "中", "低")  # D11
WAYS: Final = ("電話", "メール", "ポータル", "その他")

COMMON_TIMESTAMPS: Final = (
    "StateInsertDate",
    "StateUpdateDate",
    "SummaryInsertDate",
    "SummaryUpdateDate",
    "CorrespondInsertDate",
    "CorrespondUpdateDate",
)
REQUEST_ONLY_TIMESTAMPS: Final = ("DetailInsertDate", "DetailUpdateDate")


def timestamp_fields(kind: TicketKind) -> tuple[str, ...]:
    """The concurrency timestamps UpdateTicket needs for a ticket kind (6 or 8)."""
    if kind is TicketKind.REQUEST:
        return COMMON_TIMESTAMPS + REQUEST_ONLY_TIMESTAMPS
    return COMMON_TIMESTAMPS


def _ts(name: str) -> Field:
    return Field(name, required=True, max_chars=14, fmt=DATE)


_IDENTITY: Final = (
    Field("ServiceCode", required=True, max_chars=15, fmt=SERVICE_CODE),
    Field("MasterID", required=True, max_chars=15, fmt=MASTER_ID),
    Field("TicketId", required=True, max_chars=15, fmt=TICKET_ID),
    Field("TicketProcessType", required=True, max_chars=2, choices=("1", "2")),
)

# SupportedGroup and FinishApprovalUserId are conditional (the error table's rules and D3); they are
# not "required" here and the rules in `rules` decide.
INCIDENT_FIELDS: Final[dict[str, Field]] = {
    f.name: f
    for f in (
        *_IDENTITY,
        Field("Title"),
        Field("StateCode", required=True, choices=INCIDENT_STATES),
        Field("SubStateCode"),
        Field("Priority", required=True, choices=PRIORITIES),
        Field("SupportedGroup", choices=SUPPORT_GROUPS),
        Field("AssignUserId", required=True, max_chars=15, fmt=MASTER_ID),
        Field("CorrespondLimitDate", required=True, max_chars=14, fmt=DATE),
        Field("FinishApprovalUserId", max_chars=15, fmt=MASTER_ID),
        Field("Importance", required=True, choices=PRIORITIES),
        Field("ManagementGroupId", required=True),
        Field("Category"),
        Field("SubCategory"),
        Field("RelatedSystem", max_chars=None, max_bytes=65535),
        Field("RelatedCI", max_chars=None, max_bytes=65535),
        Field("Impact"),
        Field("Influence", max_chars=2048),
        Field("CauseClassification", required=True),
        Field("Cause", max_chars=2048),
        Field("ObstacleDetectionTime", max_chars=14, fmt=DATE),
        Field("FaultRecoveryDate", max_chars=14, fmt=DATE),
        Field("NodeName", max_chars=1024),
        Field("EventId", max_chars=254),  # D15
        Field("DetectionMessage", max_chars=None, max_bytes=65535),
        Field("CorrespondStartDate", max_chars=14, fmt=DATE),
        Field("CorrespondFinishDate", max_chars=14, fmt=DATE),
        *(_ts(n) for n in COMMON_TIMESTAMPS),
    )
}

REQUEST_FIELDS: Final[dict[str, Field]] = {
    f.name: f
    for f in (
        *_IDENTITY,
        Field("Title"),
        Field("StateCode", choices=REQUEST_STATES),
        Field("SubStateCode"),
        Field("Priority", required=True, choices=PRIORITIES),
        Field("SupportedGroup", choices=SUPPORT_GROUPS),
        Field("AssignUserId", max_chars=15, fmt=MASTER_ID),
        Field("CorrespondLimitDate", required=True, max_chars=14, fmt=DATE),
        Field("FinishApprovalUserId", max_chars=15, fmt=MASTER_ID),
        Field("Urgency"),
        Field("ManagementGroupId"),
        Field("RequestType"),
        Field("RequestSubType"),
        Field("Category", required=True),
        Field("SubCategory"),
        Field("RelatedSystem", max_chars=None, max_bytes=65535),
        Field("RepresentativeCustomerId", max_chars=15, fmt=MASTER_ID),
        Field("RepresentativeCustomerName", max_chars=200),
        Field("CustomerDepartment", max_chars=200),
        Field("CustomerContactInfo", max_chars=200),
        Field("RequestDate", max_chars=14, fmt=DATE),
        Field("AcceptWay", choices=WAYS),
        Field("RequestContents", max_chars=None, max_bytes=65535),
        Field("RespondWay", choices=WAYS),
        Field("RespondContents", max_chars=2048),
        Field("CorrespondStartDate", max_chars=14, fmt=DATE),
        Field("CorrespondFinishDate", max_chars=14, fmt=DATE),
        *(_ts(n) for n in COMMON_TIMESTAMPS + REQUEST_ONLY_TIMESTAMPS),
    )
}

MEMO_LIST: Final = "CorrespondProcessList"
MEMO_SEQ: Final = "CorrespondProcessSeq"
MEMO_CLASS: Final = "CorrespondProcessOperationClass"
MEMO_TEXT: Final = "CorrespondProcess"
MEMO_FIELDS: Final[dict[str, Field]] = {
    MEMO_SEQ: Field(MEMO_SEQ, max_chars=9),
    MEMO_CLASS: Field(MEMO_CLASS, required=True, max_chars=1, choices=("0", "1", "2")),
    MEMO_TEXT: Field(MEMO_TEXT, max_chars=2048),
}


class MemoOp(StrEnum):
    """`CorrespondProcessOperationClass`."""

    ADD = "0"
    EDIT = "1"
    DELETE = "2"


def update_fields(kind: TicketKind) -> dict[str, Field]:
    """UpdateTicket's parameter table for a ticket kind (without the memo list)."""
    return INCIDENT_FIELDS if kind is TicketKind.INCIDENT else REQUEST_FIELDS


# D2: GetTicketDetail's names that UpdateTicket spells differently (detail name → update name).
DETAIL_TO_UPDATE_RENAMES: Final[dict[str, str]] = {"AssignUser": "AssignUserId"}
# D1: keys a GetTicketDetailResponse must carry (plus the kind's timestamps).
DETAIL_REQUIRED_KEYS: Final = ("RequestId", "TicketId", "TicketProcessType")

GET_TICKET_DETAIL_FIELDS: Final[dict[str, Field]] = {
    f.name: f
    for f in (
        Field("TicketId", required=True, max_chars=15, fmt=TICKET_ID),
        Field("ServiceCode", required=True, max_chars=15, fmt=SERVICE_CODE),
        Field("MasterID", required=True, max_chars=15, fmt=MASTER_ID),
    )
}

RELEASE_FIELDS: Final[dict[str, Field]] = {
    f.name: f
    for f in (
        Field("OfficeId", required=True, max_chars=11, choices=(OFFICE_ID,)),
        Field("ServiceCode", required=True, max_chars=15, fmt=SERVICE_CODE),
        Field("MasterId", required=True, max_chars=15, fmt=MASTER_ID),
        Field("MasterIncidentId", required=True, max_chars=15, fmt=TICKET_ID),
        Field("IncidentId", required=True, max_chars=15, fmt=TICKET_ID),  # per element
        Field("Locale", required=True, max_chars=1, choices=(LOCALE,)),
    )
}


class ErrorType(StrEnum):
    """Every ErrorType the client knows: UpdateTicket's table, and the older actions' (D9)."""

    PARAMETER_REQUIRED = "PARAMETER_REQUIRED"
    PARAMETER_TOO_LONG = "PARAMETER_TOO_LONG"
    PARAMETER_ERROR = "PARAMETER_ERROR"
    NO_TICKET_ID = "NO_TICKET_ID"
    AUTH_FAILURE = "AUTH_FAILURE"
    EXCLUSION_FAILURE = "EXCLUSION_FAILURE"
    NO_ROLES_TO_CLOSE = "NO_ROLES_TO_CLOSE"
    SYSTEM_ERROR = "SYSTEM_ERROR"
    LEGACY_PARAMETER_ERROR = "ParameterError"
    LEGACY_WEB_SYSTEM_ERROR = "UOMWebSystemError"


# D9: the table's spellings with spaces mean the same as the sample's.
LEGACY_SPELLINGS: Final[dict[str, ErrorType]] = {
    "Parameter Error": ErrorType.LEGACY_PARAMETER_ERROR,
    "UOM WebSystem Error": ErrorType.LEGACY_WEB_SYSTEM_ERROR,
}


class Msg:
    """ErrorMessage texts, exactly as the manual prints them."""

    REQUIRED = "必須項目が指定されていません。"
    TOO_LONG = "最大文字数を超過しています。"
    UNKNOWN_PARAMETER = "指定できないパラメータが含まれています。"
    BLANK = "空欄にできない項目が空文字で指定されています。"
    INVALID = "入力パラメータが正しく指定されていません。"
    APPROVER_REQUIRED = (
        "ステータスをクローズまたはクローズ承認待ちへ変更する場合、クローズ承認者の指定が必要です。"
    )
    APPROVER_NOT_ALLOWED = (
        "クローズ承認者はステータスをクローズまたはクローズ承認待ちに変更する場合のみ指定してください。"
    )
    GROUP_REQUIRED = "ステータスがクローズ以外の場合、担当グループの値の指定が必要です。"
    BAD_ACCOUNT = "指定されたSAアカウントまたはサービスコードが不正です。"
    NO_TICKET = "指定されたチケットIDのデータは存在しない、または閲覧権限がありません。"
    AUTH = "認証エラーです。"
    EXCLUSION = "他のユーザが指定されたチケットを更新しています。"
    NO_ROLES = "ステータスをクローズにする権限がありません。"
    SYSTEM = "システムエラーが発生しました。"
    LEGACY_PARAMETER = "There are invalid parameters."
    LEGACY_WEB_SYSTEM = "UOM Web System error occurred."
