"""A shop's background jobs on the jobforge runtime: receipts, order imports, a nightly report."""
