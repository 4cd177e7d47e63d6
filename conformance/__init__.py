"""The conformance kit: adapter contract, probes, history, checkers, faults, runner."""
