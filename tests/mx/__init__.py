"""Tests of the MX protocol codec."""
