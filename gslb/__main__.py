"""`python -m gslb` runs gslbd."""

from gslb.server.app import main

raise SystemExit(main())
