"""Assignment checks, one module per assignment, named after it (``a01_gan_losses`` for
``book/assignments/a01_gan_losses.ipynb``); ``common`` holds what they share. Import a check from its
module: ``from gantutor.checks.a01_gan_losses import check_d_loss``."""
