#!/usr/bin/env bash
# tests/e2e/otad-cost.sh with otad's state in PostgreSQL (OTA_STORE=pg: tests/lib/base.sh
# starts a private server, see tests/lib/pg.sh; skipped when it cannot start).
OTA_STORE=pg exec bash "$(dirname "$0")/../e2e/otad-cost.sh" "$@"
