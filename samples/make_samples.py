"""Write the sample job files in samples/ (deterministic): `python samples/make_samples.py`.

They match the emulator's seed tickets (samples/seed_tickets.json): UTM1000001–UTM1000060 are
recovered (復旧済み) incidents, UTM2000001–UTM2000040 requests, and UTM1000061–UTM1000090 are
children of the masters UTM1000091–UTM1000095 (six each). CSV files are written as Excel does
(CRLF line ends); `broken_update_ticket.csv` has at least one row for every validation rule.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
MEMO = "復旧を確認しました。\n一括クローズします（uom-batch）。"
MEMO_KEYS = ("CorrespondProcessSeq", "CorrespondProcessOperationClass", "CorrespondProcess")


def close_rows() -> list[dict[str, str]]:
    """Close the 60 recovered incidents, with a precondition and a memo."""
    return [
        {
            "TicketId": f"UTM{1000000 + n}",
            "StateCode": "クローズ",
            "FinishApprovalUserId": "SA1234567",
            "expect.StateCode": "復旧済み",
            "CorrespondProcess": MEMO,
        }
        for n in range(1, 61)
    ]


def priority_rows() -> list[dict[str, str]]:
    """Raise the priority of 40 requests (those already 高 end as unchanged)."""
    return [
        {"TicketId": f"UTM{2000000 + n}", "TicketProcessType": "2", "Priority": "高"} for n in range(1, 41)
    ]


def unlink_rows() -> list[dict[str, str]]:
    """Release children UTM1000061–UTM1000090 from their masters (UTM1000091 + k // 6)."""
    return [
        {"MasterIncidentId": f"UTM{1000091 + k // 6}", "IncidentId": f"UTM{1000061 + k}"} for k in range(30)
    ]


def _broken(note: str, **cells: str) -> tuple[str, dict[str, str]]:
    return note, cells


BROKEN: list[tuple[str, dict[str, str]]] = [
    _broken(
        "valid: closes a recovered incident",
        TicketId="UTM1000001",
        StateCode="クローズ",
        FinishApprovalUserId="SA1234567",
        CorrespondProcess="一括クローズ",
    ),
    _broken("required: TicketId is empty", Priority="高"),
    _broken("shape: TicketId is not UTM + digits", TicketId="TKT-1"),
    _broken("max_chars: TicketId has 16 characters (max 15)", TicketId="UTM1234567890123"),
    _broken("choice: TicketProcessType 3", TicketId="UTM1000002", TicketProcessType="3"),
    _broken(
        "shape: ServiceCode; max_chars: MasterID has 16 characters",
        TicketId="UTM1000003",
        ServiceCode="svc001",
        MasterID="SA12345678901234",
    ),
    _broken("max_chars: Title has 257 characters (max 256)", TicketId="UTM1000004", Title="件" * 257),
    _broken(
        "max_bytes: DetectionMessage has 65,538 UTF-8 bytes (max 65,535)",
        TicketId="UTM1000005",
        DetectionMessage="障" * 21846,
    ),
    _broken("choice: Priority 最高", TicketId="UTM1000006", Priority="最高"),
    _broken(
        "choice_for_kind: 復旧済み is not a request state",
        TicketId="UTM2000001",
        TicketProcessType="2",
        StateCode="復旧済み",
    ),
    _broken(
        "field_for_kind: requests do not take Importance",
        TicketId="UTM2000002",
        TicketProcessType="2",
        Importance="高",
    ),
    _broken(
        "datetime: 2023-02-29 does not exist", TicketId="UTM1000007", CorrespondLimitDate="20230229120000"
    ),
    _broken("shape: AssignUserId is not SA + digits", TicketId="UTM1000008", AssignUserId="tanaka"),
    _broken(
        "approver_only_when_closing: approver with 対応中",
        TicketId="UTM1000009",
        StateCode="対応中",
        FinishApprovalUserId="SA1234567",
    ),
    _broken("clear_fields_known: TicketId cannot be cleared", TicketId="UTM1000010", ClearFields="TicketId"),
    _broken(
        "clear_conflict: clears Title and sets it", TicketId="UTM1000011", Title="新件名", ClearFields="Title"
    ),
    _broken(
        "clear_group_not_closed: clears SupportedGroup, state 対応中",
        TicketId="UTM1000012",
        StateCode="対応中",
        ClearFields="SupportedGroup",
    ),
    _broken(
        "clear_approver_closing: clears the approver while closing",
        TicketId="UTM1000013",
        StateCode="クローズ",
        ClearFields="FinishApprovalUserId",
    ),
    _broken(
        "clear_for_kind: requests require Category",
        TicketId="UTM2000003",
        TicketProcessType="2",
        ClearFields="Category",
    ),
    _broken(
        "choice: memo operation class 5",
        TicketId="UTM1000014",
        CorrespondProcessOperationClass="5",
        CorrespondProcess="メモ",
    ),
    _broken(
        "memo_seq_digits: sequence a1",
        TicketId="UTM1000015",
        CorrespondProcessSeq="a1",
        CorrespondProcessOperationClass="1",
        CorrespondProcess="修正",
    ),
    _broken(
        "memo_add_without_seq: an add with a sequence",
        TicketId="UTM1000016",
        CorrespondProcessSeq="3",
        CorrespondProcessOperationClass="0",
        CorrespondProcess="追加",
    ),
    _broken(
        "memo_seq_required: a delete without a sequence",
        TicketId="UTM1000017",
        CorrespondProcessOperationClass="2",
    ),
    _broken(
        "memo_text_required: an edit without a text",
        TicketId="UTM1000018",
        CorrespondProcessSeq="2",
        CorrespondProcessOperationClass="1",
    ),
    _broken(
        "max_chars: memo sequence has 10 characters (max 9)",
        TicketId="UTM1000019",
        CorrespondProcessSeq="1234567890",
        CorrespondProcessOperationClass="2",
    ),
    _broken(
        "max_chars: memo text has 2,049 characters (max 2,048)",
        TicketId="UTM1000020",
        CorrespondProcess="メ" * 2049,
    ),
    _broken(
        "memo_list_json: the JSON is cut off",
        TicketId="UTM1000021",
        CorrespondProcessList='[{"CorrespondProcess": "途中まで',
    ),
    _broken(
        "memo_list_or_columns: a list and the memo columns",
        TicketId="UTM1000022",
        CorrespondProcess="メモ",
        CorrespondProcessList='[{"CorrespondProcess": "別のメモ"}]',
    ),
    _broken(
        "memo_seq_required (in the list): a delete without a sequence",
        TicketId="UTM1000023",
        CorrespondProcessList='[{"CorrespondProcessOperationClass": "2"}]',
    ),
    _broken(
        "choice: expect.StateCode 完了 is no state", TicketId="UTM1000024", **{"expect.StateCode": "完了"}
    ),
    _broken(
        "several at once: choice, datetime, shape",
        TicketId="UTM1000025",
        Priority="特急",
        CorrespondLimitDate="20240101240000",
        AssignUserId="SA12AB",
    ),
]


def broken_rows() -> list[dict[str, str]]:
    """The deliberately broken update-ticket rows (see docs/job-files.md for each)."""
    return [cells for _, cells in BROKEN]


def csv_text(rows: Sequence[Mapping[str, str]]) -> str:
    """Rows as CSV text, Excel style (CRLF, quotes only where needed)."""
    columns = list(dict.fromkeys(c for row in rows for c in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_csv(path: Path, rows: Sequence[Mapping[str, str]], encoding: str = "utf-8") -> None:
    """Write one CSV sample in `encoding`."""
    path.write_bytes(csv_text(rows).encode(encoding))


def close_frame() -> pl.DataFrame:
    """The close job for Parquet: the memo as a list of structs (CorrespondProcessList)."""
    rows = close_rows()
    memo = [{"CorrespondProcessSeq": None, "CorrespondProcessOperationClass": "0", "CorrespondProcess": MEMO}]
    struct = pl.Struct({k: pl.String for k in MEMO_KEYS})
    return pl.DataFrame(
        {
            "TicketId": [r["TicketId"] for r in rows],
            "StateCode": [r["StateCode"] for r in rows],
            "FinishApprovalUserId": [r["FinishApprovalUserId"] for r in rows],
            "expect.StateCode": [r["expect.StateCode"] for r in rows],
            "CorrespondProcessList": pl.Series([memo] * len(rows), dtype=pl.List(struct)),
        }
    )


def main(out: Path = HERE) -> None:
    """Write every sample into `out`."""
    write_csv(out / "close_recovered_incidents.csv", close_rows())
    write_csv(out / "close_recovered_incidents_cp932.csv", close_rows(), "cp932")
    close_frame().write_parquet(out / "close_recovered_incidents.parquet")
    write_csv(out / "request_priority_change.csv", priority_rows())
    pl.DataFrame(priority_rows()).write_parquet(out / "request_priority_change.parquet")
    write_csv(out / "unlink_children.csv", unlink_rows())
    write_csv(out / "unlink_children_bom.csv", unlink_rows(), "utf-8-sig")
    pl.DataFrame(unlink_rows()).write_parquet(out / "unlink_children.parquet")
    write_csv(out / "broken_update_ticket.csv", broken_rows())


if __name__ == "__main__":
    main()
