"""Sub-command implementations behind ``voicetop.cli``."""
