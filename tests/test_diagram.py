"""zoo.diagram: macro and micro block diagrams as DOT text, read from the models themselves."""
import re

import pytest

import zoo
from zoo.diagram import macro_dot, macro_nodes, micro_dot, shade_color

NODE = re.compile(r'^  (\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$')
EDGE = re.compile(r"^  (\w+) -> (\w+);$")


def parse(dot: str) -> tuple[dict[str, str], list[tuple[str, str]], dict[str, str]]:
    """A strict reader for the DOT we write: every line is a header, a node or an edge."""
    lines = dot.splitlines()
    assert lines[0] == "digraph G {" and lines[-1] == "}"
    nodes, edges, fills = {}, [], {}
    for line in lines[1:-1]:
        if line.startswith(("  graph [", "  node [", "  edge [")):
            continue
        m = NODE.match(line)
        if m:
            nodes[m.group(1)] = m.group(2).replace("\\n", "\n")
            f = re.search(r'fillcolor="(#[0-9a-f]{6})"', m.group(3))
            fills[m.group(1)] = f.group(1) if f else None
            continue
        m = EDGE.match(line)
        assert m, f"not a node or an edge: {line!r}"
        edges.append((m.group(1), m.group(2)))
    assert all(a in nodes and b in nodes for a, b in edges)
    return nodes, edges, fills


def chain(nodes, edges):
    """Node ids from input to output, for a diagram that is a single chain."""
    nxt = dict(edges)
    order = ["input"]
    while order[-1] != "output":
        order.append(nxt[order[-1]])
    assert len(order) == len(nodes)
    return order


def test_shade_color():
    assert shade_color(0) == "#ffffff"
    assert shade_color(1) == "#e6550d"
    assert shade_color(2) == shade_color(1) and shade_color(-1) == shade_color(0)
    # more share, darker (every channel non-increasing)
    a, b = shade_color(0.1), shade_color(0.5)
    assert all(int(a[i:i + 2], 16) >= int(b[i:i + 2], 16) for i in (1, 3, 5))


def test_macro_resnet50_stages_width_depth_resolution():
    nodes, edges, fills = parse(macro_dot("resnet50"))
    order = chain(nodes, edges)
    titles = [nodes[n].split("\n")[0] for n in order]
    assert titles == ["input", "stem", "layer1", "layer2", "layer3", "layer4", "head", "output"]
    # ResNet-50, Table 1 of the paper: 3, 4, 6, 3 bottlenecks at 56², 28², 14², 7²
    expect = {"layer1": "256 ch × 3 blocks × 56²", "layer2": "512 ch × 4 blocks × 28²",
              "layer3": "1024 ch × 6 blocks × 14²", "layer4": "2048 ch × 3 blocks × 7²"}
    for n in order:
        title = nodes[n].split("\n")[0]
        if title in expect:
            assert "Bottleneck ×" in nodes[n] and expect[title] in nodes[n]
    assert "7×7/2 conv → maxpool 3×3/2" in nodes[order[1]]
    assert nodes["input"] == "input\n3×224×224" and nodes["output"] == "output\n1000"
    # shading: layer3 holds the most MACs, so it is the darkest stage
    stage_fills = {nodes[n].split("\n")[0]: fills[n] for n in order[1:-1]}
    darkest = min(stage_fills, key=lambda t: int(stage_fills[t][3:5], 16))
    assert darkest == "layer3"


def test_macro_shares_sum_to_one_and_shade_modes():
    a = zoo.analyze("efficientnet_b0")
    for shade in ("macs", "params"):
        nodes = macro_nodes(a, shade)
        assert sum(n["share"] for n in nodes) == pytest.approx(1.0)
        assert sum(n["macs"] for n in nodes) == a.total_macs
        assert sum(len(n["layers"]) for n in nodes) == len(a.layers)
    plain, _, fills = parse(macro_dot(a, shade=None))
    assert set(fills.values()) <= {None, "#eeeeee"}
    by_params = macro_dot(a, shade="params")
    assert "of params" in by_params and by_params != macro_dot(a, shade="macs")
    with pytest.raises(ValueError, match="shade"):
        macro_dot(a, shade="flops")


def test_macro_vgg_is_cut_at_its_pools():
    nodes, edges, _ = parse(macro_dot("vgg16"))
    labels = [nodes[n] for n in chain(nodes, edges)]
    convs = [re.search(r"3×3 conv( ×\d)?", x).group(0) for x in labels if "3×3 conv" in x]
    # configuration D: 2, 2, 3, 3, 3 convolutions between the five max-pools
    assert convs == ["3×3 conv ×2", "3×3 conv ×2", "3×3 conv ×3", "3×3 conv ×3", "3×3 conv ×3"]


def test_macro_merges_single_block_stages_like_the_papers_tables():
    nodes, edges, _ = parse(macro_dot("mobilenet_v2"))
    rows = [re.search(r"(\d+) ch × (\d+) blocks? × (\d+)²", nodes[n]) for n in chain(nodes, edges)]
    got = [(int(m.group(1)), int(m.group(2))) for m in rows if m]
    # MobileNet v2, Table 2: c and n of each bottleneck row
    assert got == [(16, 1), (24, 2), (32, 3), (64, 4), (96, 3), (160, 3), (320, 1)]
    nodes, edges, _ = parse(macro_dot("inception_v3"))
    text = "\n".join(nodes.values())
    assert "InceptionC ×4" in text and "Mixed_6b – Mixed_6e" in text


def test_micro_bottleneck():
    nodes, edges, _ = parse(micro_dot("resnet50", "layer1.0"))
    convs = [n for n, label in nodes.items() if " conv, " in label]
    assert len(convs) == 4  # three on the main path, one projection shortcut
    assert any(label.startswith("1×1 conv, 64→64\nBN, ReLU\n64×56×56") for label in nodes.values())
    assert any(label.startswith("3×3 conv, 64→64\nBN, ReLU") for label in nodes.values())
    add = next(n for n, label in nodes.items() if label.startswith("add (+)"))
    assert "ReLU" in nodes[add]                      # the ReLU after the add folds into it
    assert len([e for e in edges if e[1] == add]) == 2
    assert sum(1 for e in edges if e[0] == "input") == 2  # main path and shortcut
    assert nodes["input"] == "input\n64×56×56" and nodes["output"] == "output\n256×56×56"


def test_micro_inception_concat_and_default_block():
    nodes, edges, _ = parse(micro_dot("inception_v3", "Mixed_5b"))
    cat = next(n for n, label in nodes.items() if label.startswith("concat"))
    assert len([e for e in edges if e[1] == cat]) == 4     # four branches
    assert "5×5 conv, 48→64" in "\n".join(nodes.values())
    assert "256×35×35" in nodes[cat]
    # default block: the first one
    assert micro_dot("resnet18") == micro_dot("resnet18", "layer1.0")


def test_micro_mbconv_with_squeeze_excite():
    nodes, edges, _ = parse(micro_dot("efficientnet_b0", "features.2.0"))
    text = "\n".join(nodes.values())
    assert "3×3/2 depthwise conv, 96→96" in text and "global avgpool" in text
    mul = next(n for n, label in nodes.items() if label.startswith("multiply"))
    assert len([e for e in edges if e[1] == mul]) == 2   # the gate and the features


def test_micro_shufflenet_unit():
    nodes, edges, _ = parse(micro_dot("shufflenet_v2_x1_0", "stage2.1"))
    text = "\n".join(nodes.values())
    assert "channel shuffle" in text and "concat" in text
    cat = next(n for n, label in nodes.items() if label.startswith("concat"))
    assert ("input", cat) in edges  # the channel split: half goes straight to the concat


def test_micro_errors():
    with pytest.raises(ValueError, match="no block 'layer9'"):
        micro_dot("resnet18", "layer9")
    with pytest.raises(ValueError, match="no blocks"):
        micro_dot("vgg11")


@pytest.mark.parametrize("name", ["alexnet", "googlenet", "squeezenet1_0", "mobilenet_v3_small",
                                  "inception_resnet_v2", "resnetrs50", "efficientnet_lite0",
                                  "mobilenet_v1", "inception_v4"])
def test_every_family_draws(name):
    a = zoo.analyze(name)
    nodes, edges, _ = parse(macro_dot(a))
    chain(nodes, edges)
    for block in a.blocks()[:3]:
        nodes, edges, _ = parse(micro_dot(a, block))
        assert "input" in nodes and "output" in nodes and len(nodes) >= 3
