"""``python -m zoo summary``: the table a lecturer pastes into slides, for every registered model."""
import contextlib
import csv
import io
import json
import subprocess
import sys

import pytest

import zoo
from conftest import ROOT, reference_models
from zoo.__main__ import main

ALL = zoo.list_models()


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def test_summary_table_in_a_fresh_process():
    p = subprocess.run([sys.executable, "-m", "zoo", "summary", "resnet18"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("resnet18 at 224×224") and "1,814,073,344 MACs = 3,628,146,688 FLOPs" in lines[0]
    assert "reference resnet18 (torchvision 0.29.1): 1,814,073,344 MACs" in p.stdout and "MACs equal" in p.stdout
    header = next(x for x in lines if x.startswith("layer "))
    for col in ("type", "kind", "kernel", "stride", "groups", "input", "output", "params", "MACs", "FLOPs"):
        assert col in header
    conv1 = next(x for x in lines if x.startswith("conv1 "))
    assert "1×3×224×224" in conv1 and "1×64×112×112" in conv1 and "118,013,952" in conv1 and "9,408" in conv1
    total = next(x for x in lines if x.startswith("total "))
    assert "11,689,512" in total and "1,814,073,344" in total and "3,628,146,688" in total
    assert "FLOPs = 2 × MACs" in p.stdout


def test_summary_csv_and_depth():
    rc, out, _ = run("summary", "mobilenet_v2", "--format", "csv", "--depth", "1")
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    # torchvision pools with F.adaptive_avg_pool2d in forward: a functional layer at the top level
    assert [r["name"] for r in rows] == ["features", "adaptive_avg_pool2d", "classifier"]
    assert sum(int(r["macs"]) for r in rows) == reference_models()["mobilenet_v2"]["macs"]
    assert sum(int(r["params"]) for r in rows) == reference_models()["mobilenet_v2"]["params"]
    assert rows[0]["input"] == "1×3×224×224" and rows[0]["output"] == "1×1280×7×7"


def test_summary_by_kind_and_resolution():
    rc, out, _ = run("summary", "shufflenet_v2_x1_0", "--by", "kind", "--resolution", "160")
    assert rc == 0
    assert out.startswith("shufflenet_v2_x1_0 at 160×160")
    assert "reference" not in out.split("\n\n")[0]  # the reference was measured at 224, not 160
    kinds = [x.split()[0] for x in out.splitlines() if x and x.split()[0] in zoo.KINDS]
    assert {"depthwise", "pointwise", "shuffle", "concat"} <= set(kinds)


def test_unused_auxiliary_parameters_are_said():
    rc, out, _ = run("summary", "inception_v3", "--depth", "1")
    assert rc == 0
    assert "27,161,264 parameters" in out.splitlines()[0]
    assert "3,326,696 of the parameters belong to modules not run in eval" in out


@pytest.mark.parametrize("args,message", [
    (("summary", "resnet9000"), "unknown model 'resnet9000'"),
    (("summary", "alexnet", "--resolution", "16"), "alexnet cannot run at 16×16"),
    (("summary", "alexnet", "--depth", "0"), "--depth must be 1 or more"),
])
def test_summary_errors(args, message):
    rc, out, err = run(*args)
    assert rc == 2 and message in err and out == ""


@pytest.mark.parametrize("name", ALL)
def test_summary_json_for_every_model(name):
    rc, out, _ = run("summary", name, "--format", "json")
    assert rc == 0
    doc = json.loads(out)
    a = zoo.analyze(name)
    assert doc["model"] == name and doc["totals"]["macs"] == a.total_macs
    assert doc["totals"]["flops"] == 2 * doc["totals"]["macs"]
    assert sum(r["macs"] for r in doc["rows"]) == a.total_macs
    assert sum(r["params"] for r in doc["rows"]) + doc["totals"]["unused_params"] == doc["totals"]["params"]
    assert "FLOPs = 2 × MACs" in doc["conventions"]
    ref = reference_models().get(zoo.info(name).reference or "")
    if ref and ref["resolution"] == zoo.info(name).resolution:
        assert doc["totals"]["macs"] == ref["macs"] and doc["reference"].endswith("MACs equal")
    # the text table: one line per layer between the rules, and the same total
    rc, out, _ = run("summary", name)
    lines = out.splitlines()
    rules = [i for i, x in enumerate(lines) if x and set(x) == {"-"}]
    assert len(rules) == 2 and rules[1] - rules[0] - 1 == len(doc["rows"])
    assert f"{a.total_macs:,}" in lines[rules[1] + 1] and lines[rules[1] + 1].startswith("total")


def test_list_shows_every_model_with_its_reference_figures():
    rc, out, _ = run("list")
    assert rc == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line and not line.startswith("Sources")}
    assert sorted(rows) == ALL
    # the reference's parameter count and the weights' top-1 (assets/models.json)
    assert "11,689,512" in rows["resnet18"] and "69.8% (weights)" in rows["resnet18"]
    # no weights: the paper's figure, marked as such (He et al. Table 2 via assets/published.csv)
    assert "11,515,688" in rows["plain18"] and "72.1% (paper)" in rows["plain18"]


def test_info_names_its_sources():
    rc, out, _ = run("info", "efficientnet_b0")
    info = json.loads(out)
    assert rc == 0 and info["year"] == 2019 and info["paper"]["arxiv"] == "1905.11946"
    assert info["figures"]["params"]["value"] == 5_288_548
    assert "torchvision" in info["figures"]["macs"]["source"]
    rc, _, err = run("info", "no_such_net")
    assert rc == 2 and "unknown model" in err
