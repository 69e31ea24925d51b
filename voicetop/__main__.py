"""Allow ``python -m voicetop``."""

from voicetop.cli import run

run()
