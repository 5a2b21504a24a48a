"""Model architecture: `Img2Latex` = `Encoder` (CNN) + `Decoder` (Transformer)."""

from .decoder import Cache, Decoder
from .encoder import Encoder
from .model import Img2Latex, with_layers

__all__ = ["Cache", "Decoder", "Encoder", "Img2Latex", "with_layers"]
