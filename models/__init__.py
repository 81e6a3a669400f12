"""Network definitions (``@register_architecture``), committed weights and model cards.

Each model lives in ``models/<name>/``: ``card.json`` plus its weights (``*.safetensors``).
Architectures are plain ``nn.Module`` factories registered by name so that a card can
name one. Importing this package imports every module in it, so each architecture
module registers itself; adding one needs no edit here.
"""

import importlib
import pkgutil

from models.architectures import ARCHITECTURES, build_architecture, register_architecture

for _info in pkgutil.iter_modules(__path__):
    if not _info.name.startswith("_") and _info.name != "architectures":
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = ["ARCHITECTURES", "build_architecture", "register_architecture"]
