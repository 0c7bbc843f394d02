"""Parts of scripts/bench: proxies it starts, idle clients, the report."""
