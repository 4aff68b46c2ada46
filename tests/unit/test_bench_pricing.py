"""bench/pricing.py prices writes by AWS's documented rules (Amazon DynamoDB Developer Guide: "DynamoDB
item sizes and formats", "Capacity unit consumption for write operations", "Capacity management for
transactions", "Global secondary indexes: write capacity units"); the cases are the guide's own
examples where it gives one."""

import pytest

from bench.pricing import Index, Schema, item_size, price_write, read_units, value_size, write_units

KB = 1024
NO_INDEX = Schema(("pk", "sk"))
# As template.yaml declares them: a sparse index projecting ALL, and one projecting KEYS_ONLY.
INDEXED = Schema(("pk", "sk"), (Index("ByClinician", ("g1pk", "g1sk"), "ALL"), Index("Undone", ("upk",), "KEYS_ONLY")))


def sized(n: int, **extra: str) -> dict[str, dict[str, str]]:
    """An item of exactly n bytes (keys "pk"/"sk" of 1 byte each, the rest a string `d`)."""
    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, **{k: {"S": v} for k, v in extra.items()}}
    item["d"] = {"S": "x" * (n - item_size(item) - 1)}
    assert item_size(item) == n
    return item


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "abc"}, 3),
        ({"S": "é"}, 2),  # UTF-8 bytes, not characters
        ({"N": "123"}, 3),  # 3 significant digits: 2 bytes, plus 1
        ({"N": "12.3400"}, 3),  # trailing zeros trimmed: 1234
        ({"N": "0.0012"}, 2),  # leading zeros trimmed: 12
        ({"N": "-1000"}, 2),
        ({"B": b"\x00\x01\x02\x03"}, 4),  # the raw bytes, not their base64
        ({"NULL": True}, 1),
        ({"BOOL": False}, 1),
        ({"L": []}, 3),  # an empty List or Map: 3 bytes
        ({"M": {}}, 3),
        ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + (2 + 1) + (2 + 1)),  # 1 byte more per element
        ({"M": {"ab": {"S": "xyz"}}}, 3 + 2 + 3 + 1),  # a Map's keys count as names
        ({"SS": ["a", "bc"]}, 3),
    ],
)
def test_value_sizes_follow_the_guide(value: dict, size: int) -> None:
    assert value_size(value) == size


def test_an_items_size_is_its_names_and_values() -> None:
    assert item_size({"pk": {"S": "INV#1"}, "rev": {"N": "12"}}) == (2 + 5) + (3 + 2)
    assert item_size(None) == 0


def test_writes_round_up_per_kilobyte_and_never_cost_nothing() -> None:
    assert [write_units(n) for n in (0, 500, KB, KB + 1, int(1.6 * KB))] == [1, 1, 1, 2, 2]


def test_put_update_and_delete_pay_the_larger_of_before_and_after() -> None:
    big, small = sized(2500), sized(10)
    assert price_write(NO_INDEX, None, sized(int(1.6 * KB))) == 2  # "put or delete an item of 1.6 KB: 2 KB"
    assert price_write(NO_INDEX, big, small) == 3  # an UpdateItem or PutItem over a larger item
    assert price_write(NO_INDEX, big, None) == 3  # a DeleteItem: the deleted item


def test_a_batch_write_rounds_each_item() -> None:
    # "a 500 byte item and a 3.5 KB item: 5 KB (1 KB + 4 KB), not 4 KB"
    assert price_write(NO_INDEX, None, sized(500)) + price_write(NO_INDEX, None, sized(int(3.5 * KB))) == 5


def test_a_transaction_writes_every_item_twice() -> None:
    # "each transaction writes three 500-byte items ... you would need to provision six WCUs"
    assert sum(price_write(NO_INDEX, None, sized(500), transactional=True) for _ in range(3)) == 6
    # What DynamoDB Local reports as 2 (six 10-byte items) and 12 (10 B, 1.5 KB, 2.5 KB, 10 B, 1.5 KB):
    assert sum(price_write(NO_INDEX, None, sized(10), transactional=True) for _ in range(6)) == 12
    sizes = (10, 1536, 2560, 10, 1536)
    assert sum(price_write(NO_INDEX, None, sized(n), transactional=True) for n in sizes) == 18


def test_a_condition_check_costs_two_writes_of_its_item_and_no_index() -> None:
    item = sized(2500, g1pk="a", g1sk="b")
    assert price_write(INDEXED, item, item, transactional=True, check=True) == 6


def test_an_index_write_per_entry_added_removed_or_changed_and_two_for_a_moved_key() -> None:
    plain, listed = sized(100), sized(100, g1pk="a", g1sk="b")
    moved = sized(100, g1pk="a", g1sk="c")
    assert INDEXED.index_units(None, plain) == 0  # not in the (sparse) index before or after
    assert INDEXED.index_units(None, listed) == 1  # put into the index
    assert INDEXED.index_units(listed, None) == 1  # deleted from it
    assert INDEXED.index_units(listed, sized(101, g1pk="a", g1sk="b")) == 1  # a projected attribute changed
    assert INDEXED.index_units(listed, moved) == 2  # the key moved: delete, then put
    assert INDEXED.index_units(listed, listed) == 0  # nothing changed


def test_an_index_entry_is_what_the_index_projects() -> None:
    before, after = sized(3000, upk="u"), sized(3001, upk="u")
    assert INDEXED.index_units(None, before) == 1  # KEYS_ONLY: the keys, not the 3 KB item
    assert INDEXED.index_units(before, after) == 0  # its keys did not change: nothing to write
    assert INDEXED.index_units(None, sized(3000, g1pk="a", g1sk="b")) == 3  # ALL: the whole item


def test_a_transactions_index_writes_are_not_doubled() -> None:
    # Propagated to the indexes after the transaction commits (and so measured: nubo-db/dynoxide#188).
    item = sized(500, g1pk="a", g1sk="b", upk="u")
    assert price_write(INDEXED, None, item) == 1 + 2
    assert price_write(INDEXED, None, item, transactional=True) == 2 + 2


def test_the_schema_is_read_from_describe_table() -> None:
    table = {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "ByX",
                "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]},
            }
        ],
    }
    schema = Schema.of(table)
    assert schema == Schema(("pk", "sk"), (Index("ByX", ("x",), "INCLUDE", ("a",)),))
    item = {"pk": {"S": "p"}, "sk": {"S": "s"}, "x": {"S": "1"}, "a": {"S": "2"}, "b": {"S": "3" * 2000}}
    assert schema.index_units(None, item) == 1  # the entry leaves `b` out
    assert schema.key(item) == {"pk": {"S": "p"}, "sk": {"S": "s"}}


def capacity(units: float) -> dict:
    return {"ConsumedCapacity": {"TableName": "t", "CapacityUnits": units}}


def test_reads_keep_what_dynamodb_local_reports() -> None:
    # It follows the guide: a consistent read of a 5 KB item is 2 (8 KB), eventually consistent 1.
    assert read_units("GetItem", {"ConsistentRead": True}, {**capacity(2.0), "Item": {}}) == 2.0
    assert read_units("Query", {}, {**capacity(2.0), "Count": 10, "ScannedCount": 10}) == 2.0


def test_a_query_that_finds_nothing_is_still_a_read() -> None:
    # "you'll still be charged ... read throughput ... even if no data exists"; DynamoDB Local says 0.
    assert read_units("Query", {}, {**capacity(0.0), "ScannedCount": 0}) == 0.5
    assert read_units("Query", {"ConsistentRead": True}, {**capacity(0.0), "ScannedCount": 0}) == 1.0


def test_a_batch_get_pays_a_read_per_key_it_did_not_find() -> None:
    keys = [{"pk": {"S": str(i)}} for i in range(3)]
    params = {"RequestItems": {"t": {"Keys": keys, "ConsistentRead": True}}}
    response = {"ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 1.0}], "Responses": {"t": [{}]}}
    assert read_units("BatchGetItem", params, response) == 3.0
    unprocessed = {**response, "UnprocessedKeys": {"t": {"Keys": keys[1:2]}}}
    assert read_units("BatchGetItem", params, unprocessed) == 2.0  # one key was not read at all
