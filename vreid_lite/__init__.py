"""vreid_lite — a teaching and exploration kit for vehicle re-identification."""
__version__ = "0.1.0"
