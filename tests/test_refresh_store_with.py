"""A store holding given sources: the project's store when complete, else a built copy."""

from __future__ import annotations

from connectors.refresh import REFERENCE_DATASETS, store_with_sources
from geodata.store import Store


def test_complete_store_is_used_as_is(store, shared_data, tmp_path):
    assert store_with_sources(["communes"], shared_data, tmp_path, store) is store


def test_missing_source_is_built_into_a_temporary_store(store, shared_data, tmp_path):
    partial = Store(tmp_path / "partiel")  # the reference geography only
    for dataset in REFERENCE_DATASETS:
        for suffix in (".parquet", ".manifest.json"):
            source = store.path(dataset).with_suffix(suffix)
            if source.exists():
                (partial.root / source.name).write_bytes(source.read_bytes())
    assert not partial.exists("tlv_zone_tendue")
    built = store_with_sources(["tlv_zone_tendue"], shared_data, tmp_path / "construit", partial)
    assert built is not partial
    assert built.exists("tlv_zone_tendue") and built.exists("communes")
    assert built.manifest("tlv_zone_tendue").transport.startswith("local:")
