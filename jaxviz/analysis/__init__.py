"""Findings: the traps in a traced program, each with the line and the fix."""
