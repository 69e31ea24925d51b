"""Allow ``python -m voicetop``."""

from voicetop.cli import main

raise SystemExit(main())
