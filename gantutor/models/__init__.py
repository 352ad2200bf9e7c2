"""Model families, one file each: ``mlp`` (chapters 1 to 5 and 10); later chapters add their own."""
from .mlp import MLPDiscriminator, MLPGenerator  # noqa: F401
from .conditional import MLPProjectionDiscriminator  # noqa: F401
from .dcgan import DCGANDiscriminator, DCGANGenerator  # noqa: F401
