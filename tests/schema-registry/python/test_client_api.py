"""SchemaRegistryClient's API against strom-schema-registry: subjects, versions,
lookups, deletes, compatibility settings, references and Confluent's error codes."""

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.error import SchemaRegistryError

ADDRESS = json.dumps(
    {"type": "record", "name": "Address", "namespace": "acme", "fields": [{"name": "city", "type": "string"}]}
)
CUSTOMER = json.dumps(
    {"type": "record", "name": "Customer", "namespace": "acme", "fields": [{"name": "home", "type": "acme.Address"}]}
)


def error_of(call) -> "tuple[int, int]":
    with pytest.raises(SchemaRegistryError) as e:
        call()
    return e.value.http_status_code, e.value.error_code


def test_subjects_versions_and_lookup(sr_client):
    id1 = sr_client.register_schema("api-a", Schema('"string"', "AVRO"))
    assert sr_client.register_schema("api-a", Schema('"string"', "AVRO")) == id1
    assert sr_client.register_schema("api-b", Schema('"string"', "AVRO")) == id1
    assert {"api-a", "api-b"} <= set(sr_client.get_subjects())
    assert sr_client.get_versions("api-a") == [1]

    v = sr_client.get_version("api-a", 1)
    assert (v.subject, v.version, v.schema_id, v.schema.schema_str) == ("api-a", 1, id1, '"string"')
    found = sr_client.lookup_schema("api-b", Schema('"string"', "AVRO"))
    assert (found.version, found.schema_id) == (1, id1)
    assert sr_client.get_schema(id1).schema_str == '"string"'

    assert error_of(lambda: sr_client.get_versions("api-missing")) == (404, 40401)
    assert error_of(lambda: sr_client.get_version("api-a", 5)) == (404, 40402)
    assert error_of(lambda: sr_client.get_schema(424242)) == (404, 40403)
    assert error_of(lambda: sr_client.lookup_schema("api-a", Schema('"int"', "AVRO"))) == (404, 40403)
    assert error_of(lambda: sr_client.register_schema("api-a", Schema("{bad", "AVRO"))) == (422, 42201)


def test_deletes(sr_client):
    sr_client.set_compatibility("api-del", "NONE")
    sr_client.register_schema("api-del", Schema('"int"', "AVRO"))
    sr_client.register_schema("api-del", Schema('"long"', "AVRO"))
    assert sr_client.delete_version("api-del", 1) == 1
    assert sr_client.get_versions("api-del") == [2]
    assert error_of(lambda: sr_client.delete_version("api-del", 2, permanent=True)) == (404, 40407)
    assert sr_client.delete_subject("api-del") == [2]
    assert error_of(lambda: sr_client.get_versions("api-del")) == (404, 40401)
    assert sorted(sr_client.delete_subject("api-del", permanent=True)) == [1, 2]
    assert "api-del" not in sr_client.get_subjects()


def test_compatibility_settings(sr_client):
    assert sr_client.get_compatibility() == "BACKWARD"
    assert sr_client.set_compatibility("api-cfg", "FULL_TRANSITIVE") == {"compatibility": "FULL_TRANSITIVE"}
    assert sr_client.get_compatibility("api-cfg") == "FULL_TRANSITIVE"
    cfg = sr_client.get_config("api-cfg")
    assert cfg.compatibility_level == "FULL_TRANSITIVE"
    assert error_of(lambda: sr_client.set_compatibility("api-cfg", "SIDEWAYS")) == (422, 42203)
    assert error_of(lambda: sr_client.get_compatibility("api-nocfg")) == (404, 40408)


def test_references(sr_client):
    addr_id = sr_client.register_schema("api-address", Schema(ADDRESS, "AVRO"))
    refs = [SchemaReference("acme.Address", "api-address", 1)]
    cust_id = sr_client.register_schema("api-customer", Schema(CUSTOMER, "AVRO", refs))
    assert cust_id != addr_id
    got = sr_client.get_schema(cust_id)
    assert [(r.name, r.subject, r.version) for r in got.references] == [("acme.Address", "api-address", 1)]
    assert error_of(lambda: sr_client.delete_subject("api-address")) == (422, 42206)
