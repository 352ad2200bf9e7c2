"""Package data: weights of the MNIST feature network (see gantutor.metrics)."""
