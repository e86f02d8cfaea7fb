"""Stereo: coincident-event matching between telescopes and stereo geometry."""
