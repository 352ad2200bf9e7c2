"""Model families, one file each: ``mlp`` (chapters 1 to 5 and 10; ``projection``, its
projection discriminator), ``dcgan`` (chapter 6); later chapters add ``progan``, ``stylegan``, ``cyclegan``."""
from .mlp import MLPDiscriminator, MLPGenerator  # noqa: F401
from .projection import MLPProjectionDiscriminator  # noqa: F401
from .dcgan import DCGANDiscriminator, DCGANGenerator  # noqa: F401
from .progan import ProGANDiscriminator, ProGANGame, ProGANGenerator  # noqa: F401
