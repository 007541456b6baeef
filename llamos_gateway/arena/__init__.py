"""The arena: an attacker agent against the defender, round after round (`llamos arena`)."""
