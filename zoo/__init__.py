"""CNN Atlas model zoo: from-scratch PyTorch models of the ImageNet story, with their facts.

Public API::

    zoo.list_models(pattern="*")        -> list of registered names
    zoo.build(name, **overrides)        -> randomly initialised nn.Module (meta device friendly)
    zoo.info(name)                      -> ModelInfo: family, year, paper, resolution, figures
    zoo.load_pretrained(name)           -> (model in eval mode, preprocess, class_names)
    zoo.analyze(name_or_model, ...)     -> Analysis: per-layer shapes, parameters, MACs, memory

zoo/ depends on torch alone; it never imports streamlit.
"""
from importlib import import_module

from .registry import ModelInfo, Paper, build, info, list_models, register

# Each family module registers its models when imported.
FAMILIES = (
    "alexnet",
    "vgg",
    "googlenet",
    "inception",
    "inception_v4",
    "resnet",
    "squeezenet",
    "mobilenet",
    "shufflenet",
    "efficientnet",
)
for _family in FAMILIES:
    import_module(f"{__name__}.{_family}")

from .pretrained import WeightsUnavailable, load_pretrained  # noqa: E402
from .analysis import analyze, Analysis, Layer, KINDS  # noqa: E402
from . import costs, diagram  # noqa: E402

__all__ = ["ModelInfo", "Paper", "build", "info", "list_models", "register",
           "load_pretrained", "WeightsUnavailable", "analyze", "Analysis", "Layer", "KINDS",
           "costs", "diagram"]
