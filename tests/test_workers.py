"""Work spread over worker processes gives exactly the in-process answer."""

import graphlink as gl
from graphlink import workers
from graphlink.identifiers import extract
from graphlink.link import count_entities, find_links


def _links(folder):
    ids = count_entities(extract(gl.load(folder)))
    return ids, find_links(ids)


def test_workers_give_the_in_process_answer(world, monkeypatch):
    monkeypatch.setenv("GRAPHLINK_WORKERS", "1")
    monkeypatch.setattr(workers, "LAST_POOL_SIZE", 0)
    ids_1, links_1 = _links(world)
    monkeypatch.setenv("GRAPHLINK_WORKERS", "2")
    monkeypatch.setattr(workers, "MIN_ITEMS", 10)  # every list goes to the workers
    ids_2, links_2 = _links(world)
    assert workers.LAST_POOL_SIZE == 2  # the pool really ran
    assert ids_2.uses.equals(ids_1.uses) and ids_2.values.equals(ids_1.values)
    assert links_2.similar.equals(links_1.similar) and len(links_1.similar)
    assert links_2.keys.equals(links_1.keys)


def test_map_chunks_keeps_order_and_length(monkeypatch):
    monkeypatch.setenv("GRAPHLINK_WORKERS", "2")
    monkeypatch.setattr(workers, "MIN_ITEMS", 1)
    items = [f"v{i}" * (i % 7) for i in range(1000)]
    assert workers.map_chunks(workers._lengths, items) == [len(s) for s in items]


def test_signups_scored_and_explained_in_workers_are_the_in_process_ones(world, monkeypatch):
    from graphlink import api, report, score

    analysis = gl.analyse(world)
    monkeypatch.setenv("GRAPHLINK_WORKERS", "1")
    alone = report.render(api.signups_report(analysis, "2000-01-01"), "json")
    monkeypatch.setenv("GRAPHLINK_WORKERS", "2")
    monkeypatch.setattr(score, "SHARE_ABOVE", 10)
    monkeypatch.setattr(workers, "LAST_POOL_SIZE", 0)
    shared = report.render(api.signups_report(analysis, "2000-01-01"), "json")
    assert workers.LAST_POOL_SIZE == 2
    assert shared == alone and '"evidence": [\n' in alone
