"""Data sources, one module each: ``mnist`` (IDX files), ``toys`` (Gaussian mixtures), ``emoji``
(Google and Twitter styles); ``sampler`` batches in-memory tensors by indexing."""
from .emoji import (ATTRIBUTION, EmojiData, common_codepoints, emoji_sampler,  # noqa: F401
                    load_emoji)
from .mnist import (CACHE_DIR, MNIST_FILES, NO_DATA_MESSAGE, DataNotFoundError, MNISTData,  # noqa: F401
                    load_mnist, mnist_sampler, read_idx)
from .sampler import Sampler, TensorSampler, to_signed, to_uint8  # noqa: F401
from .toys import GaussianMixture, gaussian_mixture_1d, grid25, ring8  # noqa: F401
