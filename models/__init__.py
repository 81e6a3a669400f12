"""Network definitions (``@register_architecture``), committed weights and model cards.

Each model lives in ``models/<name>/``: ``card.json`` plus its weights (``*.safetensors``).
Architectures are plain ``nn.Module`` factories registered by name so that a card can
name one; importing this package registers every architecture module listed below.
"""

from models.architectures import ARCHITECTURES, build_architecture, register_architecture

# Architecture modules register themselves on import; add new modules here.
from models import toy  # noqa: F401,E402
from models import segmentation_nets  # noqa: F401,E402
from models import classification_nets  # noqa: F401,E402

__all__ = ["ARCHITECTURES", "build_architecture", "register_architecture"]
