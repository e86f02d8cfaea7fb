"""Reconstruction: random-forest training/application helpers and stereo combiners."""
