"""Reusable layers, one module per family of ideas: ``spectral`` (spectral normalisation and operator
norms, chapter 5), ``progressive`` (ProGAN's pixel norm, equalised learning rate and minibatch standard
deviation, chapter 7), ``style`` (AdaIN and the modulated convolution, chapter 8)."""
from .spectral import (SpectralNorm, conv_operator, conv_operator_norm, l2_normalize,  # noqa: F401
                       power_iteration, spectral_norm, spectral_norm_all, spectral_norms)
from .progressive import (EqualizedConv2d, EqualizedLinear, MinibatchStdDev, PixelNorm,  # noqa: F401
                          blend_real, fade_in, he_constant, minibatch_stddev, pixel_norm)
