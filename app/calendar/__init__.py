"""Vietnamese working-day calendar and deadline rules."""
