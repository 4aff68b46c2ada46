"""DynamoDB, single table (docs/data-model.md):

codec.py          attribute values in and out, the cost of each call (Usage)
table.py          the table: consistent reads, conditional writes, query pages
items.py          the one mapping of an invitation and a patient to items and back
name_index.py     one small item per name word: prefix search
unit_of_work.py   a change committed at once: PutItem, or TransactWriteItems when it spans items
queries.py        the read side: lists, search, the expiry index
"""
