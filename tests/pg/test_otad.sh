#!/usr/bin/env bash
# tests/cli/test_otad.sh with otad's state in PostgreSQL (OTA_STORE=pg; it
# starts a private server, see tests/lib/pg.sh; skipped when it cannot start).
OTA_STORE=pg exec bash "$(dirname "$0")/../cli/test_otad.sh" "$@"
