"""The real Langfuse Python SDK v2 (PyPI `langfuse>=2,<3`) against Loupe's dataset routes:
create_dataset, create_dataset_item (upsert by id, archived items), get_dataset (dataset
plus paged items), get_dataset_item, an experiment loop linking traces and observations
with item.link() (including the legacy form that names only an observation), and the run
reads get_dataset_run / get_dataset_runs."""

from __future__ import annotations

import pytest

from integration.harness import PUBLIC_KEY, SECRET_KEY, uid

langfuse = pytest.importorskip("langfuse")
from langfuse.api.resources.commons.types.dataset_status import DatasetStatus  # noqa: E402


@pytest.fixture(scope="module")
def lf(loupe):
    client = langfuse.Langfuse(public_key=PUBLIC_KEY, secret_key=SECRET_KEY, host=loupe.url)
    yield client
    client.shutdown()


def test_dataset_and_items(lf):
    name = uid("py-ds")
    created = lf.create_dataset(name=name, description="capital cities", metadata={"owner": "qa"})
    assert (created.name, created.description, created.metadata) == (name, "capital cities", {"owner": "qa"})
    for i, (country, capital) in enumerate([("France", "Paris"), ("Japan", "Tokyo"), ("Peru", "Lima")]):
        lf.create_dataset_item(dataset_name=name, id=f"{name}-{i}", input={"country": country},
                               expected_output=capital, metadata={"i": i})
    lf.create_dataset_item(dataset_name=name, id=f"{name}-old", input={"country": "Prussia"},
                           status=DatasetStatus.ARCHIVED)
    # upsert by id
    lf.create_dataset_item(dataset_name=name, id=f"{name}-2", expected_output="Lima, Peru")

    ds = lf.get_dataset(name, fetch_items_page_size=2)  # several pages
    assert (ds.name, ds.description, ds.metadata) == (name, "capital cities", {"owner": "qa"})
    by_id = {item.id: item for item in ds.items}
    assert set(by_id) == {f"{name}-0", f"{name}-1", f"{name}-2", f"{name}-old"}
    assert by_id[f"{name}-2"].expected_output == "Lima, Peru"
    assert by_id[f"{name}-2"].input == {"country": "Peru"}
    assert by_id[f"{name}-old"].status == DatasetStatus.ARCHIVED
    assert by_id[f"{name}-0"].dataset_name == name

    item = lf.get_dataset_item(f"{name}-1")
    assert (item.input, item.expected_output, item.metadata) == ({"country": "Japan"}, "Tokyo", {"i": 1})


def test_experiment_run_links_traces_and_observations(lf, api):
    name = uid("py-exp")
    lf.create_dataset(name=name)
    for i in range(3):
        lf.create_dataset_item(dataset_name=name, id=f"{name}-{i}", input={"n": i}, expected_output=i * 2)
    ds = lf.get_dataset(name)
    traces = {}
    # The first run item creates the run with its description and metadata.
    for item in sorted(ds.items, key=lambda i: i.id):
        trace = lf.trace(name="experiment", input=item.input)
        generation = trace.generation(name="double", input=item.input, output=item.input["n"] * 2)
        if item.id.endswith("-0"):
            item.link(generation, "run-1", run_description="doubling", run_metadata={"model": "local"})
        else:
            item.link(trace, "run-1")
        traces[item.id] = (trace.id, generation.id)
    lf.flush()

    run = lf.get_dataset_run(dataset_name=name, dataset_run_name="run-1")
    assert (run.name, run.description, run.metadata, run.dataset_name) == \
        ("run-1", "doubling", {"model": "local"}, name)
    linked = {ri.dataset_item_id: (ri.trace_id, ri.observation_id) for ri in run.dataset_run_items}
    assert linked == {f"{name}-0": traces[f"{name}-0"],
                      f"{name}-1": (traces[f"{name}-1"][0], None),
                      f"{name}-2": (traces[f"{name}-2"][0], None)}

    # Legacy link by observation id only: the server finds the trace (now ingested).
    item0 = lf.get_dataset_item(f"{name}-0")
    item0.link(traces[f"{name}-1"][1], "run-2")
    run2 = lf.get_dataset_run(dataset_name=name, dataset_run_name="run-2")
    assert [(ri.trace_id, ri.observation_id) for ri in run2.dataset_run_items] == [traces[f"{name}-1"]]

    runs = lf.get_dataset_runs(name)
    assert [r.name for r in runs.data] == ["run-2", "run-1"]
    assert runs.meta.total_items == 2

    # The traces of the experiment are stored.
    assert api.trace(traces[f"{name}-2"][0])["name"] == "experiment"


def test_item_observe_context_manager(lf):
    name = uid("py-observe")
    lf.create_dataset(name=name)
    lf.create_dataset_item(dataset_name=name, id=f"{name}-0", input="hello")
    item = lf.get_dataset(name).items[0]
    with item.observe(run_name="observed") as trace_id:
        assert trace_id
    lf.flush()
    run = lf.get_dataset_run(dataset_name=name, dataset_run_name="observed")
    assert [ri.trace_id for ri in run.dataset_run_items] == [trace_id]
