import json
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@cache
def state_dict_shapes() -> dict:
    return json.loads((DATA / "state_dict_shapes.json").read_text())


@cache
def golden_logits() -> dict:
    return json.loads((DATA / "golden_logits.json").read_text())


@cache
def reference_models() -> dict:
    return json.loads((ROOT / "assets" / "models.json").read_text())


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
