"""The read models' documents as JSON (projections/documents.py): orjson, and the stdlib for what orjson
refuses; either way a document reads back equal."""
import json

from projections.documents import dumps, loads


def test_a_document_round_trips_compact_with_non_ascii_text():
    doc = {"number": "100001/2026", "bill_to": {"name": "Łódź Telekom", "address_lines": ["ul. Żeromskiego 7"]},
           "lines": [{"destination_group": "Москва mobile", "calls": 12, "amount": "12.34"}], "sequence": 1}
    text = dumps(doc)
    assert loads(text) == doc == json.loads(text)
    assert ", " not in text and ": " not in text  # compact, as the stdlib encoder with separators=(",", ":")


def test_what_orjson_refuses_goes_through_the_stdlib_both_ways():
    doc = {"calls": 2**70, "note": "beyond 64 bits"}
    text = dumps(doc)
    assert text == '{"calls":1180591620717411303424,"note":"beyond 64 bits"}'
    assert loads(text) == doc
    assert loads(b'{"n": 1}') == {"n": 1}  # event states arrive as bytes
