"""Same answer, either engine: linked releases built by the local Arrow engine and by the Spark
engine (pyspark on ``local[2]``, Java 17) from the same sealed deliveries are the same table,
row for row and cell for cell, with the same persons; hypothesis draws the specifications.
Also: the engine refuses a session without encrypted shuffle, spill and RPC, and after a job
neither Spark's work folders nor the parts hold a CPR or an unsealed byte of the release.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.dataplane.aggregate import person_columns, tabulate
from gateway.dataplane.link import pseudonymise_for, run_plan
from gateway.domain.catalogue import Catalogue
from gateway.domain.extracts import ExtractSpec
from gateway.domain.principals import Role
from gateway.domain.release_plan import LinkPlan, compile_link
from gateway.errors import ConfigurationError
from gateway.services.platform.sealed import stored_reader
from tests.conftest import Gateway, Synthetic, new_bucket, running_gateway, serving_gateway
from tests.integration.test_extracts_api import push_all

pytestmark = [
    pytest.mark.spark,
    # py4j leaves its gateway sockets to the garbage collector: not ours to close.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

KEY = bytes(range(32))
LINKABLE = ("dfdg-indsats", "lpr", "ssr", "flis-voksenhandicap", "dst-uddannelse")
POPULATIONS = ("persons-in-resource-course", "own-citizens-in-resource-course", "everyone")


def _java() -> None:
    if shutil.which("java") is None or not _has_pyspark():
        if os.environ.get("GATEWAY_REQUIRE_SPARK") == "1":
            pytest.fail("Java 17 and pyspark are required here (GATEWAY_REQUIRE_SPARK=1)")
        pytest.skip("the Spark engine needs Java (openjdk-17-jre-headless) and pyspark")


def _has_pyspark() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _java()
    from gateway.engines.spark import SparkEngine

    # local[2, 4]: two cores, and a failed task tried up to four times, as on a cluster
    spark = SparkEngine("local[2,4]", tmp_path_factory.mktemp("spark"))
    spark.session()
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, synthetic: Synthetic) -> Iterator[Gateway]:
    with running_gateway(tmp_path_factory.mktemp("hub") / "var") as gw:
        push_all(gw, synthetic)
        yield gw


def _both(hub: Gateway, engine: Any, plan: LinkPlan) -> tuple[pa.Table, Any, pa.Table]:
    ctx = hub.runtime.context
    local = run_plan(plan, stored_reader(ctx, list(plan.months)), pseudonymise_for(KEY))
    inputs = stored_reader(ctx, list(plan.months)).sealed_inputs(plan.datasets)
    collected: list[pa.Table] = []

    def write(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> str:
        collected.append(pa.Table.from_batches(list(batches), schema=schema))
        return "in-memory"

    built = engine.link(ctx.catalogue, plan, inputs, KEY, write)
    return local.table, built, collected[0]


def _spec(catalogue: Catalogue, draw: Any) -> ExtractSpec:
    population = draw(st.sampled_from(POPULATIONS))
    names = draw(st.lists(st.sampled_from(LINKABLE), min_size=1, max_size=3, unique=True))
    datasets = []
    for name in names:
        columns = [c.name for c in catalogue.datasets[name].columns if c.type.value != "cpr"]
        chosen = draw(st.lists(st.sampled_from(columns), min_size=1, max_size=4, unique=True))
        datasets.append({"dataset": name, "columns": chosen})
    first = draw(st.sampled_from(["2016-09", "2016-10", "2016-11"]))
    return ExtractSpec.model_validate(
        {
            "purpose": "analysis",
            "population": population,
            "period_from": first,
            "period_to": "2016-11",
            "datasets": datasets,
        }
    )


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_both_engines_build_the_same_release(hub: Gateway, engine: Any, data: Any) -> None:
    catalogue = hub.runtime.context.catalogue
    spec = _spec(catalogue, data.draw)
    plan = compile_link(catalogue, spec, municipality="101")
    local, built, spark = _both(hub, engine, plan)
    assert spark.schema == local.schema
    assert _decoded(spark).equals(_decoded(local)), _difference(spark, local)
    assert built.persons == len(set(local["person"].to_pylist()))
    assert built.rows == local.num_rows
    assert built.engine["spark_app_id"].startswith("local-")


def test_aggregates_person_columns_match(hub: Gateway, engine: Any) -> None:
    """The stored facts about the person that aggregates tabulate (birth year, sex) too."""
    catalogue = hub.runtime.context.catalogue
    spec = ExtractSpec.model_validate(
        {
            "purpose": "statistics",
            "population": "persons-in-resource-course",
            "period_from": "2016-11",
            "period_to": "2016-11",
            "datasets": [{"dataset": "ssr", "columns": ["provider_type", "services"]}],
        }
    )
    plan = compile_link(catalogue, spec, person_columns=("person_birth_year", "person_sex"))
    local, _built, spark = _both(hub, engine, plan)
    assert spark.schema == local.schema and local.num_rows > 0
    assert _decoded(spark).equals(_decoded(local)), _difference(spark, local)


def _aggregate_spec(catalogue: Catalogue, draw: Any) -> ExtractSpec:
    """An aggregate of every kind: persons or a sum, by categories, municipalities, months,
    gender and age band, over any population and period."""
    counted = draw(st.sampled_from(("lpr", "ssr", "dfdg-indsats", "flis-voksenhandicap")))
    columns = [c for c in catalogue.datasets[counted].columns if c.type.value != "cpr"]
    shapes = [c.name for c in columns if c.type.value in ("category", "municipality")]
    integers = [c.name for c in columns if c.type.value == "integer"]
    statistic = draw(st.sampled_from(["persons", "sum"] if integers else ["persons"]))
    dimensions = draw(
        st.lists(
            st.sampled_from([*shapes, "month", "gender", "age_band"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    aggregate: dict[str, Any] = {
        "dataset": counted,
        "statistic": statistic,
        "dimensions": dimensions,
    }
    if statistic == "sum":
        aggregate["value"] = integers[0]
    return ExtractSpec.model_validate(
        {
            "purpose": "statistics",
            "population": draw(st.sampled_from(POPULATIONS)),
            "period_from": draw(st.sampled_from(["2016-09", "2016-10", "2016-11"])),
            "period_to": "2016-11",
            "datasets": [{"dataset": counted, "columns": [c.name for c in columns]}],
            "output": "aggregate",
            "aggregate": aggregate,
        }
    )


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_aggregate_is_counted_the_same_on_both_engines(
    hub: Gateway, engine: Any, data: Any
) -> None:
    """The rows an aggregate is counted from, on Spark and locally, give the same table: the
    persons (and sums, largest contributions, negatives, missing values) of every cell and
    margin, the cell-key sums, the notes and the nested categories."""
    _same_table(hub, engine, _aggregate_spec(hub.runtime.context.catalogue, data.draw))


def test_a_sum_by_month_gender_and_age_is_counted_the_same(hub: Gateway, engine: Any) -> None:
    spec = ExtractSpec.model_validate(
        {
            "purpose": "statistics",
            "population": "persons-in-resource-course",
            "period_from": "2016-09",
            "period_to": "2016-11",
            "datasets": [
                {"dataset": "ssr", "columns": ["service_date", "provider_type", "services"]}
            ],
            "output": "aggregate",
            "aggregate": {
                "dataset": "ssr",
                "statistic": "sum",
                "value": "services",
                "dimensions": ["month", "gender", "age_band"],
            },
        }
    )
    table = _same_table(hub, engine, spec)
    assert table.persons[-1, -1, -1] > 0 and table.sums is not None


def _same_table(hub: Gateway, engine: Any, spec: ExtractSpec) -> Any:
    ctx = hub.runtime.context
    assert spec.aggregate is not None
    counted = spec.aggregate.dataset
    plan = compile_link(
        ctx.catalogue, spec, municipality="101", person_columns=person_columns(spec)
    )
    own = dataclasses.replace(plan, steps=tuple(s for s in plan.steps if s.dataset == counted))
    local = run_plan(own, stored_reader(ctx, spec.months), lambda i: ("person", i)).table
    inputs = stored_reader(ctx, spec.months).sealed_inputs(own.datasets)
    rows, said = engine.rows(ctx.catalogue, own, inputs, counted)
    assert rows.num_rows == local.num_rows and said["engine"] == "spark"
    on_spark, here = tabulate(ctx.catalogue, spec, rows), tabulate(ctx.catalogue, spec, local)
    for name in ("name", "title", "dimensions", "levels", "notes", "implications", "value_name"):
        assert getattr(on_spark, name) == getattr(here, name), name
    assert np.array_equal(on_spark.persons, here.persons)
    assert np.array_equal(on_spark.key_sums, here.key_sums)
    assert (on_spark.sums is None) == (here.sums is None)
    if here.sums is not None and on_spark.sums is not None:
        for name in ("total", "top", "negative", "missing"):
            assert np.array_equal(getattr(on_spark.sums, name), getattr(here.sums, name)), name
    return here


def test_an_unprotected_session_is_refused(tmp_path: Path) -> None:
    _java()
    from gateway.engines.spark import REQUIRED, SparkEngine, check_security

    for setting in REQUIRED:
        engine = SparkEngine("local[1]", tmp_path, conf={setting: "false"})
        with pytest.raises(ConfigurationError, match=setting):
            engine.session()
    check_security(REQUIRED)  # all three set: accepted


def test_no_cpr_and_no_clear_release_in_sparks_folders(
    hub: Gateway, engine: Any, synthetic: Synthetic
) -> None:
    catalogue = hub.runtime.context.catalogue
    spec = ExtractSpec.model_validate(
        {
            "purpose": "analysis",
            "population": "persons-in-resource-course",
            "period_from": "2016-11",
            "period_to": "2016-11",
            "datasets": [{"dataset": "lpr", "columns": ["contact_type", "diagnosis_chapter"]}],
        }
    )
    local, _built, _spark = _both(hub, engine, compile_link(catalogue, spec))
    cprs = pacsv.read_csv(
        synthetic.path("lpr"), convert_options=pacsv.ConvertOptions(column_types={"cpr": "string"})
    )["cpr"].to_pylist()
    shapes = [c.encode() for c in cprs[:200]] + [f"{c[:6]}-{c[6:]}".encode() for c in cprs[:200]]
    pseudonyms = [p.encode() for p in local["person"].to_pylist()[:50]]
    files = [p for p in Path(engine.work_dir).rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        assert not any(s in data for s in shapes), path
        assert not any(p in data for p in pseudonyms), path  # the release is never in clear
    assert not [p for p in Path(engine.work_dir).iterdir() if p.name.startswith("job-")]


def _decoded(table: pa.Table) -> pa.Table:
    """The values, whatever order a coded column's dictionary lists them in (the two engines
    meet a person's sex in different orders; the values are what the release says)."""
    return table.cast(
        pa.schema(
            f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
            for f in table.schema
        )
    )


def _difference(spark: pa.Table, local: pa.Table) -> str:
    """Where the two engines' tables first differ (for the failure message)."""
    if spark.num_rows != local.num_rows:
        return f"rows: spark {spark.num_rows}, local {local.num_rows}"
    for name in local.schema.names:
        a, b = spark[name].to_pylist(), local[name].to_pylist()
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return f"column {name}, row {i}: spark {x!r}, local {y!r}"
    return "same values, different chunking or metadata"


def test_a_release_built_on_spark_is_the_local_ones_and_says_so(
    tmp_path: Path, synthetic: Synthetic, engine: Any
) -> None:
    """Through the API: the same approved specification run on a gateway whose releases go to
    Spark gives the same content as on the local engine, and its audit entry names the engine
    and Spark's application id."""
    from tests.integration.test_extracts_api import LINKED, release_for

    with running_gateway(tmp_path / "local") as gw:
        push_all(gw, synthetic)
        _meta, local = release_for(gw, "star-analyse", LINKED)
    spark_dir = tmp_path / "spark-work"
    with serving_gateway(
        tmp_path / "spark", engine="local[2]", spark_min_rows=0, spark_dir=spark_dir
    ) as gw:
        push_all(gw, synthetic)
        analyst = gw.auth("star-analyse", Role.RECIPIENT)
        asked = gw.client.post("/v1/extracts", json=LINKED, headers=analyst).json()["id"]
        approver = gw.auth("dpo@star.dk", Role.APPROVER)
        assert gw.client.post(f"/v1/extracts/{asked}/approve", headers=approver).is_success
        # The recipient's command line runs it and shows, on standard error, how it goes.
        token = analyst["Authorization"].removeprefix("Bearer ")
        words = ["extract", "release", asked, "--json", "--url", str(gw.client.base_url)]
        ran = subprocess.run(
            [sys.executable, "-m", "gateway", *words, "--token", token],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        meta = json.loads(ran.stdout)  # standard output holds the answer alone
        assert "building on the spark engine" in ran.stderr
        on_spark = pq.read_table(
            io.BytesIO(gw.client.get(f"/v1/releases/{meta['id']}/content", headers=analyst).content)
        )
        (build,) = gw.client.get(f"/v1/extracts/{asked}/builds", headers=analyst).json()["builds"]
        other = gw.client.get(
            f"/v1/extracts/{asked}/builds", headers=gw.auth("star-statistik", Role.RECIPIENT)
        )
        entries = gw.client.get(
            "/v1/audit/entries",
            params={"event_type": "release.created"},
            headers=gw.auth("dpo@hub-dpo", Role.AUDITOR),
        ).json()["entries"]
    details = entries[-1]["details"]
    assert details["engine"] == "spark" and details["spark_app_id"].startswith("local-")
    assert on_spark.schema == local.schema and meta["rows"] == local.num_rows
    # Two hubs, two master keys: other pseudonyms. The same persons with the same rows.
    assert _by_person(on_spark) == _by_person(local)
    # The build, as its requester follows it: Spark's tasks all done, and the release it made.
    assert (build["engine"], build["state"], build["release_id"]) == ("spark", "built", meta["id"])
    assert build["tasks_total"] > 0 and build["tasks_done"] == build["tasks_total"]
    assert build["jobs_done"] >= 1
    assert other.status_code == 404  # another recipient is not told it exists


def test_an_aggregate_counted_on_spark_passes_the_checker_and_says_so(
    tmp_path: Path, synthetic: Synthetic, engine: Any
) -> None:
    """Through the API on a gateway whose releases go to Spark: an aggregate is counted from
    rows Spark linked, checked and released by the hub; its figures are the persons of the
    plaintext source files, its audit entry and its build name Spark."""
    from tests.conftest import EXACT_COUNTS, edited_policies
    from tests.integration.test_aggregates_api import (
        BY_KOMMUNE,
        approved,
        bundle,
        persons_by_kommune,
        run,
    )

    policies = edited_policies(tmp_path / "policies", EXACT_COUNTS)
    with running_gateway(
        tmp_path / "var", policies, engine="local[2]", spark_min_rows=0, spark_dir=tmp_path / "w"
    ) as gw:
        push_all(gw, synthetic)
        asked = approved(gw, "star-statistik", BY_KOMMUNE)
        made = run(gw, "star-statistik", asked)
        assert made.status_code == 201, made.text
        files = bundle(gw, "star-statistik", made.json()["id"])
        statistician = gw.auth("star-statistik", Role.RECIPIENT)
        (build,) = gw.client.get(f"/v1/extracts/{asked}/builds", headers=statistician).json()[
            "builds"
        ]
        entries = gw.client.get(
            "/v1/audit/entries",
            params={"event_type": "release.created"},
            headers=gw.auth("dpo@hub-dpo", Role.AUDITOR),
        ).json()["entries"]
    assert entries[-1]["details"]["engine"] == "spark"
    assert (build["engine"], build["state"]) == ("spark", "built")
    assert build["release_id"] == made.json()["id"]
    table = pacsv.read_csv(
        io.BytesIO(files["tables/dfdg-indsats-persons.csv"]),
        convert_options=pacsv.ConvertOptions(column_types={"kommune": pa.string()}),
    ).to_pylist()
    expected = persons_by_kommune(synthetic)
    shown = [row for row in table[:-1] if row["persons"] is not None]
    assert shown and all(row["persons"] == expected.get(row["kommune"], 0) for row in shown)


def test_executors_read_an_s3_bucket_at_signed_addresses(
    tmp_path: Path, synthetic: Synthetic, engine: Any, s3_endpoint: str
) -> None:
    """Blobs in an S3-compatible bucket (moto's server): the hub signs one address per blob,
    the executors read the sealed blobs by range requests there, and the release holds the
    same persons with the same rows as on the local engine."""
    from tests.integration.test_extracts_api import LINKED, release_for

    with running_gateway(tmp_path / "local") as gw:
        push_all(gw, synthetic)
        _meta, local = release_for(gw, "star-analyse", LINKED)
    with running_gateway(
        tmp_path / "s3",
        s3_bucket=new_bucket(s3_endpoint),
        s3_endpoint_url=s3_endpoint,
        engine="local[2]",
        spark_min_rows=0,
        spark_dir=tmp_path / "w",
    ) as gw:
        push_all(gw, synthetic)
        ctx = gw.runtime.context
        inputs = stored_reader(ctx, ["2016-11"]).sealed_inputs(["lpr"])
        meta, on_spark = release_for(gw, "star-analyse", LINKED)
        entries = gw.client.get(
            "/v1/audit/entries",
            params={"event_type": "release.created"},
            headers=gw.auth("dpo@hub-dpo", Role.AUDITOR),
        ).json()["entries"]
    assert inputs and all(i.location.startswith(s3_endpoint) for i in inputs)
    assert all("Signature=" in i.location for i in inputs)  # signed, one object each
    assert entries[-1]["details"]["engine"] == "spark"
    assert meta["rows"] == local.num_rows
    assert _by_person(on_spark) == _by_person(local)


def _by_person(table: pa.Table) -> list[list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    others = [n for n in table.schema.names if n != "person"]
    columns = [table[n].to_pylist() for n in others]
    for i, person in enumerate(table["person"].to_pylist()):
        rows.setdefault(person, []).append(tuple(c[i] for c in columns))
    return sorted((sorted(r, key=repr) for r in rows.values()), key=repr)


def _spark_workers() -> list[int]:
    """Python worker processes the Spark daemon forked (not the daemon itself)."""

    def cmdline(pid: str) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return b""

    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and b"pyspark.daemon" in cmdline(entry.name):
            try:
                parent = Path(f"/proc/{entry.name}/stat").read_text().split(")")[-1].split()[1]
            except OSError:
                continue
            if b"pyspark.daemon" in cmdline(parent):
                found.append(int(entry.name))
    return found


def test_a_worker_killed_mid_job_leaves_the_release_complete_or_absent(
    hub: Gateway, engine: Any
) -> None:
    """The drill: Python workers are killed (SIGKILL) while the job runs. Spark retries the
    lost tasks; the release is then the whole release, or, if the job fails, nothing (no
    part, no blob), never a part of it."""
    import signal
    import threading

    catalogue = hub.runtime.context.catalogue
    spec = ExtractSpec.model_validate(
        {
            "purpose": "analysis",
            "population": "persons-in-resource-course",
            "period_from": "2016-09",
            "period_to": "2016-11",
            "datasets": [
                {"dataset": "lpr", "columns": ["contact_type", "diagnosis_chapter"]},
                {"dataset": "ssr", "columns": ["provider_type", "services"]},
            ],
        }
    )
    plan = compile_link(catalogue, spec)
    killed: list[int] = []
    done = threading.Event()

    def kill_workers() -> None:
        while not done.is_set() and len(killed) < 2:
            for pid in _spark_workers():
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
                break
            done.wait(0.02)

    killer = threading.Thread(target=kill_workers, daemon=True)
    killer.start()
    try:
        local, _built, spark = _both(hub, engine, plan)
    except Exception:  # the job failed: nothing of it may be left
        spark = None
    finally:
        done.set()
        killer.join()
    assert killed, "no Spark worker was found to kill"
    assert not [p for p in Path(engine.work_dir).iterdir() if p.name.startswith("job-")]
    if spark is not None:
        assert _decoded(spark).equals(_decoded(local)), _difference(spark, local)


def test_a_failed_job_is_a_clear_problem_and_releases_nothing(
    tmp_path: Path, synthetic: Synthetic, engine: Any
) -> None:
    """A real failure: a chunk in the middle of a stored delivery is altered after it was
    stored. The hub opens the blob's header and Parquet footer (both intact); the executors
    fail to authenticate the altered chunk, Spark retries each task and gives up. The API
    answers 503 problem+json, no release is recorded, the approval's run is not used, and no
    part of the job is left."""
    import pyarrow.csv as pacsv_write

    from gateway.dataplane import synth_sized
    from tests.integration.test_extracts_api import LINKED

    spark_dir = tmp_path / "spark-work"
    with running_gateway(
        tmp_path / "var", engine="local[2,4]", spark_min_rows=0, spark_dir=spark_dir
    ) as gw:
        push_all(gw, synthetic)
        ctx = gw.runtime.context
        big = synth_sized.rows_like(
            ctx.catalogue, "lpr", rows=300_000, persons=50_000, seed=7, period="2016-11"
        )
        body = io.BytesIO()
        pacsv_write.write_csv(big, body)
        pushed = gw.push("sundhedsdatastyrelsen", "lpr", body.getvalue())
        assert pushed.status_code == 201, pushed.text
        with ctx.store.unit_of_work() as uow:
            (current,) = uow.latest_deliveries("lpr", ["2016-11"])
        stored = gw.settings.resolved_blobs_dir / current.blob_key
        assert stored.stat().st_size > 3 << 20  # several chunks: the damage is in the data
        with open(stored, "r+b") as fh:
            fh.seek(72 + 100)  # the first chunk's ciphertext, past the header
            byte = fh.read(1)
            fh.seek(72 + 100)
            fh.write(bytes([byte[0] ^ 0xFF]))
        analyst = gw.auth("star-analyse", Role.RECIPIENT)
        asked = gw.client.post("/v1/extracts", json=LINKED, headers=analyst).json()["id"]
        approved = gw.client.post(
            f"/v1/extracts/{asked}/approve", headers=gw.auth("dpo@star.dk", Role.APPROVER)
        )
        assert approved.status_code == 200, approved.text
        run = gw.client.post(f"/v1/extracts/{asked}/releases", headers=analyst)
        assert run.status_code == 503, run.text
        assert run.headers["content-type"] == "application/problem+json"
        assert "nothing was released" in run.json()["detail"]
        with ctx.store.unit_of_work() as uow:
            assert uow.list_releases(asked) == []
            (build,) = uow.builds_of(asked)
        assert not [p for p in spark_dir.iterdir() if p.name.startswith("job-")]
    # The requester and the console see the build failed, and why; nothing was released.
    assert (build.engine, build.state.value, build.release_id) == ("spark", "failed", None)
    assert "nothing was released" in build.note
