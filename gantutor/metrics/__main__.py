"""``python -m gantutor.metrics train-classifier``: retrain the shipped MNIST feature network;
``python -m gantutor.metrics train-emoji``: retrain the shipped emoji feature network."""
import sys

if sys.argv[1:2] == ["train-emoji"]:
    from .emoji import main as emoji_main

    sys.exit(emoji_main(sys.argv[2:]))

from .mnist import main  # noqa: E402

sys.exit(main())
