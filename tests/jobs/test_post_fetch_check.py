"""The post-fetch check of a merged update skips only what the job file already checked."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jobs import update_ticket as kind

FIELDS = [
    "TicketProcessType", "StateCode", "FinishApprovalUserId", "SupportedGroup", "Priority", "Title",
    "Importance", "Category", "CorrespondLimitDate", "AssignUserId", "RequestType", "Urgency",
]  # fmt: skip
VALUES = st.sampled_from(
    ["", "1", "2", "クローズ", "クローズ承認待ち", "対応中", "復旧済み", "高", "中", "SA1", "お客様",
     "20240229000000", "20230229000000", "x" * 300, "他"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    st.fixed_dictionaries({**dict.fromkeys(FIELDS, VALUES), "TicketProcessType": st.sampled_from("12")}),
    st.sets(st.sampled_from(FIELDS[1:])),
    st.sets(st.sampled_from(FIELDS[1:])),
)
def test_validated_columns_skip_only_the_rules_the_job_file_checked(
    values: dict[str, str], changed: set[str], cleared: set[str]
) -> None:
    """With the changed cells valid in the job file, the narrow check finds what the wide one finds."""
    changes = {c: values[c] for c in changed - cleared if values[c]}
    own_rules = [r for r in kind.rules(list(changes)) if r.column in changes]
    assume(all(r.check(changes) for r in own_rules))  # the job file let these cells through
    merged = {"TicketId": "UTM1", **values, **dict.fromkeys(cleared, "")}
    narrow = kind.check_update(merged, 2, only=sorted(cleared), validated=changes)
    wide = kind.check_update(merged, 2, only=[*changes, *sorted(cleared)])
    assert {(v.column, v.rule) for v in narrow} == {(v.column, v.rule) for v in wide}
