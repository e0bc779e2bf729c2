"""Adapters that let agent tools call tether at the right moments."""
