"""voicetop: htop/k9s for voice agents."""

__version__ = "0.1.0"
