"""Package data, all loadable with ``torch.load(weights_only=True)``: the feature networks of
:mod:`gantutor.metrics` (``mnist_classifier.pt``, ``emoji_features.pt``) and the shipped checkpoints of
:mod:`gantutor.pretrain` (``<recipe>.pt``, each under 5 MB, re-created by ``python -m gantutor.pretrain NAME``)."""
