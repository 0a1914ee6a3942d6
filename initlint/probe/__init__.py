"""Dynamic confirmation of findings: the only part of initlint that imports torch."""
