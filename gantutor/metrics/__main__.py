"""``python -m gantutor.metrics train-classifier``: retrain the shipped MNIST feature network."""
import sys

from .mnist import main

sys.exit(main())
