"""Durable writes (`replica_acks`): every write waits for that many replicas (WAIT, in the same round
trip) and is an outage when fewer confirm; reads never wait."""

from __future__ import annotations

import pytest

from redis_sessions import BackendUnavailable
from tests.contract._stores import StoreFactory, loaded

pytestmark = pytest.mark.anyio
# The run's Cluster and Sentinel set give each primary one replica; the plain Redis has none.
with_a_replica = pytest.mark.parametrize("backend_url", ["cluster", "sentinel"], indirect=True)
without_replicas = pytest.mark.parametrize("backend_url", ["redis"], indirect=True)


@with_a_replica
async def test_every_write_waits_for_a_replica_in_the_same_round_trip(make_store: StoreFactory) -> None:
    store = make_store(replica_acks=1)
    await store.create({"warm": 1}, user_id="warm")  # the first calls load the scripts
    before = store.round_trips
    session = await store.create({"a": 1})
    assert store.round_trips == before + 1

    copy = await loaded(store, session.id)
    copy["a"] = 2
    before = store.round_trips
    assert await store.save(copy)
    assert store.round_trips == before + 1

    await store.regenerate(copy)
    assert (await loaded(store, copy.id))["a"] == 2
    assert await store.delete(copy.id)
    assert await store.get(copy.id) is None


@with_a_replica
async def test_a_write_that_fewer_replicas_confirm_is_an_outage(make_store: StoreFactory) -> None:
    store = make_store(replica_acks=2, replica_ack_timeout=0.05)  # one replica per primary
    with pytest.raises(BackendUnavailable) as caught:
        await store.create({"a": 1})
    assert caught.value.kind == "replica acks"
    assert "1 of the 2 replicas" in str(caught.value)


@with_a_replica
async def test_reads_never_wait_for_replicas(make_store: StoreFactory) -> None:
    session = await make_store().create({"a": 1})
    store = make_store(replica_acks=2, replica_ack_timeout=0.05)
    assert (await loaded(store, session.id))["a"] == 1  # would be an outage if it sent WAIT
    assert await store.exists(session.id)


@without_replicas
async def test_durable_writes_on_a_redis_without_replicas_fail_as_outages(make_store: StoreFactory) -> None:
    store = make_store(replica_acks=1, replica_ack_timeout=0.05)
    with pytest.raises(BackendUnavailable) as caught:
        await store.create({"a": 1})
    assert caught.value.kind == "replica acks"
    assert "0 of the 1 replicas" in str(caught.value)
