"""Measured quality of generators, one module per feature space: ``toys`` (mode scores),
``mnist`` (the MNIST classifier: MNIST-FID, conditional accuracy, precision and recall), ``emoji``;
``distances`` holds the Frechet distance and k-NN precision/recall they share."""
from .distances import (PrecisionRecall, feature_statistics, frechet_distance,  # noqa: F401
                        precision_recall_features)
from .emoji import (EmojiFeatureNet, EmojiFIDResult, category_probabilities, emoji_features,  # noqa: F401
                    emoji_fid, style_accuracy, style_probability)
from .mnist import (FEATURE_DIM, WEIGHTS, ConditionalAccuracy, FIDResult, MNISTClassifier,  # noqa: F401
                    check_images, classifier, classify, conditional_accuracy, features, fid_between,
                    mnist_fid, precision_recall, real_baseline, train_classifier)
from .toys import ToyScores, toy_scores  # noqa: F401
