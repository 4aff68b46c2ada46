"""bench/cold.py checks that each reference makes its function's AWS calls: the same operations
and request parameters, reading and writing the same kinds of items with the same attributes, in
any order; ids, times and table names may differ."""

from typing import Any

from bench.cold import Call, call_differences, call_shapes, item_kind


def put(pk: str, sk: str, **extra: str) -> dict[str, Any]:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in extra.items()}}
    return {"Put": {"TableName": "t", "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def transaction(*writes: dict[str, Any], table: str = "t") -> Call:
    items = [{kind: dict(w, TableName=table) for kind, w in write.items()} for write in writes]
    return ("dynamodb", "TransactWriteItems", {"TransactItems": items, "ReturnConsumedCapacity": "TOTAL"})


def get(sk: str, table: str = "t", **extra: Any) -> Call:
    key = {"pk": {"S": "INV#1"}, "sk": {"S": sk}}
    return ("dynamodb", "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True, **extra})


def test_kinds_by_sort_key_and_name_entries_by_partition() -> None:
    assert item_kind({"pk": {"S": "INV#a1"}, "sk": {"S": "INV"}}) == "INV"
    assert item_kind({"pk": {"S": "INV#a1"}, "sk": {"S": "OUT#e1"}}) == "OUT#"
    assert item_kind({"pk": {"S": "INV#a1"}, "sk": {"S": "HIST#2026-01-01T00:00:00.000Z#e1"}}) == "HIST#"
    assert item_kind({"pk": {"S": "QUOTA#clinician#c"}, "sk": {"S": "QUOTA"}}) == "QUOTA"
    assert item_kind({"pk": {"S": "NAME#c"}, "sk": {"S": "jeanne#a1"}}) == "NAME"


def test_the_same_calls_in_another_order_with_other_values_do_not_differ() -> None:
    function = [get("INV"), transaction(put("INV#1", "INV", status="pending"), put("NAME#c", "jean#1", sent_key="k"))]
    reference = [
        transaction(put("NAME#c", "marie#2", sent_key="x"), put("INV#2", "INV", status="sent"), table="other"),
        get("INV", table="other"),
    ]
    assert call_differences(function, reference) == []


def test_an_attribute_missing_from_a_written_item_differs() -> None:
    function = [transaction(put("INV#1", "INV", gsi3pk="CLIN#c#queued", gsi3sk="k"), put("QUOTA#x", "QUOTA", ttl="1"))]
    reference = [transaction(put("INV#2", "INV"), put("QUOTA#y", "QUOTA"))]
    differences = call_differences(function, reference)
    assert len(differences) == 2
    assert any("INV: function only gsi3pk, gsi3sk; reference only -" in d for d in differences)
    assert any("QUOTA: function only ttl" in d for d in differences)


def test_an_extra_attribute_in_the_reference_differs() -> None:
    function = [transaction(put("INV#1", "INV"))]
    reference = [transaction(put("INV#2", "INV", remind_pk="REMIND#0"))]
    assert call_differences(function, reference) == [
        "TransactWriteItems Put(ConditionExpression, Item, TableName) INV: function only -; reference only remind_pk"
    ]


def test_request_parameters_differ_by_name_and_by_telling_value() -> None:
    secret = ("secretsmanager", "GetSecretValue", {"SecretId": "s", "VersionStage": "AWSCURRENT"})
    assert call_differences([secret], [("secretsmanager", "GetSecretValue", {"SecretId": "s"})]) == [
        "function only: secretsmanager.GetSecretValue(SecretId, VersionStage=AWSCURRENT)",
        "reference only: secretsmanager.GetSecretValue(SecretId)",
    ]
    assert call_differences([get("INV", ReturnConsumedCapacity="TOTAL")], [get("INV")]) != []
    assert call_differences([get("INV", ConsistentRead=True)], [get("INV", ConsistentRead=False)]) != []


def test_a_call_made_more_often_differs() -> None:
    query = ("dynamodb", "Query", {"TableName": "t", "IndexName": "Due", "KeyConditionExpression": "k"})
    assert call_differences([query] * 4, [query] * 3) == [
        "function only: dynamodb.Query(IndexName=Due, KeyConditionExpression, TableName)"
    ]


def test_an_update_is_told_by_the_attributes_its_expression_names() -> None:
    update = {
        "Key": {"pk": {"S": "INV#1"}, "sk": {"S": "HIST#t#e"}},
        "UpdateExpression": "SET #ttl = :ttl, attempts = if_not_exists(attempts, :zero) REMOVE undone_pk",
        "ExpressionAttributeNames": {"#ttl": "ttl"},
    }
    ((shape, attributes),) = [s for s in call_shapes([transaction({"Update": update})]) if s[1]]
    assert shape.endswith(" HIST#")
    assert attributes == ("attempts", "ttl", "undone_pk")


def test_batch_reads_are_compared_whatever_the_table_is_called() -> None:
    def batch(table: str, n: int) -> Call:
        keys = [{"pk": {"S": f"INV#{i}"}, "sk": {"S": "INV"}} for i in range(n)]
        return ("dynamodb", "BatchGetItem", {"RequestItems": {table: {"Keys": keys, "ConsistentRead": True}}})

    assert call_differences([batch("fn", 4)], [batch("ref", 4)]) == []
    assert call_differences([batch("fn", 4)], [batch("ref", 5)]) != []


def test_the_rounds_put_each_side_at_each_place_and_after_each_other_side_as_often():
    from collections import Counter
    from itertools import pairwise

    from bench.cold import ORDERS, RUNS

    rounds = [ORDERS[n % len(ORDERS)] for n in range(RUNS)]
    places = Counter((side, place) for order in rounds for place, side in enumerate(order))
    follows = Counter(pair for order in rounds for pair in pairwise(order))
    assert len(set(places.values())) == 1 and len(places) == 9
    assert len(set(follows.values())) == 1 and len(follows) == 6
